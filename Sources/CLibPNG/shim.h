// libpng, imported for the PNG encoder in Render. Macros that are not plain literals are
// re-exported as constants because Swift does not import them.
#include <png.h>
static const int CLibPNG_COLOR_TYPE_RGBA = PNG_COLOR_TYPE_RGBA;
static const int CLibPNG_COLOR_TYPE_RGB = PNG_COLOR_TYPE_RGB;
