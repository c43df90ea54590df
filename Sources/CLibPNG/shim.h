// libpng, imported for the PNG encoder and decoder in Render. Macros that are not plain
// literals are re-exported as constants because Swift does not import them.
//
// libpng reports errors by longjmp, which must never cross Swift frames. The encoder below
// therefore keeps the whole libpng write session (and its setjmp) in C; Swift only sees a
// return code and a malloc'd byte buffer.
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

static const int CLibPNG_COLOR_TYPE_RGBA = PNG_COLOR_TYPE_RGBA;
static const int CLibPNG_COLOR_TYPE_RGB = PNG_COLOR_TYPE_RGB;
static const unsigned int CLibPNG_FORMAT_RGBA = PNG_FORMAT_RGBA;
static const int CLibPNG_FILTER_NONE = PNG_FILTER_NONE;
static const int CLibPNG_FILTER_SUB = PNG_FILTER_SUB;
static const int CLibPNG_FILTER_UP = PNG_FILTER_UP;
static const int CLibPNG_FILTER_PAETH = PNG_FILTER_PAETH;
static const int CLibPNG_ALL_FILTERS = PNG_ALL_FILTERS;

/// Growable output buffer the write callback appends to.
typedef struct {
    unsigned char *data;
    size_t size;
    size_t capacity;
} CLibPNG_Buffer;

static void CLibPNG_writeCallback(png_structp png, png_bytep bytes, png_size_t length) {
    CLibPNG_Buffer *buffer = (CLibPNG_Buffer *)png_get_io_ptr(png);
    if (buffer->size + length > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 65536;
        while (capacity < buffer->size + length) capacity *= 2;
        unsigned char *grown = (unsigned char *)realloc(buffer->data, capacity);
        if (!grown) png_error(png, "out of memory");
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->size, bytes, length);
    buffer->size += length;
}

static void CLibPNG_flushCallback(png_structp png) { (void)png; }

/// Encodes 8-bit RGBA rows (`stride` bytes apart) into a PNG, row by row.
/// `level` is the zlib level 0–9, `filters` a PNG_FILTER_* mask, `strategy` a zlib strategy.
/// On success returns 0 and stores a malloc'd buffer in `*out` (free it with `free`);
/// on failure returns -1 and `*out` is NULL.
/// When `key` is not NULL, also writes one uncompressed iTXt chunk `key` = `text` (UTF-8,
/// NUL-terminated) before the image data, so readers find it without inflating anything.
static inline int CLibPNG_encodeRGBAWithText(const unsigned char *pixels, unsigned width, unsigned height,
                                             size_t stride, int level, int filters, int strategy,
                                             const char *key, const char *text,
                                             unsigned char **out, size_t *outSize);

/// Common writer. `mode` 0: RGBA rows as they are. 1: RGBA rows written as RGB (libpng strips the
/// 4th byte; for opaque pages, a quarter less data to filter and deflate). 2: one palette index
/// per pixel, `palette` holding `paletteCount` RGB triples (1–256).
/// `textCount` text chunks go before the image data, in order: `keys[i]` = `texts[i]` (NUL-terminated),
/// as tEXt (Latin-1, what PIL writes for ASCII text such as ComfyUI's prompt and workflow) when
/// `latin1[i]` is non-zero, else as uncompressed iTXt (UTF-8).
static inline int CLibPNG_encodeImageTexts(const unsigned char *pixels, unsigned width, unsigned height,
                                           size_t stride, int mode, const unsigned char *palette, int paletteCount,
                                           int level, int filters, int strategy,
                                           const char *const *keys, const char *const *texts, const int *latin1,
                                           int textCount, unsigned char **out, size_t *outSize) {
    *out = NULL;
    *outSize = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png) return -1;
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_write_struct(&png, NULL); return -1; }
    CLibPNG_Buffer *buffer = (CLibPNG_Buffer *)calloc(1, sizeof(CLibPNG_Buffer));
    if (!buffer) { png_destroy_write_struct(&png, &info); return -1; }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(buffer->data);
        free(buffer);
        return -1;
    }
    png_set_write_fn(png, buffer, CLibPNG_writeCallback, CLibPNG_flushCallback);
    png_set_compression_level(png, level);
    png_set_compression_strategy(png, strategy);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, filters);
    int colorType = mode == 2 ? PNG_COLOR_TYPE_PALETTE : (mode == 1 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA);
    png_set_IHDR(png, info, width, height, 8, colorType, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    if (mode == 2) {
        if (paletteCount < 1 || paletteCount > 256) png_error(png, "bad palette size");
        png_color colors[256];
        for (int i = 0; i < paletteCount; i++) {
            colors[i].red = palette[3 * i]; colors[i].green = palette[3 * i + 1]; colors[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, colors, paletteCount);
    }
    for (int i = 0; i < textCount; i++) {
        png_text chunk;
        memset(&chunk, 0, sizeof chunk);
        chunk.key = (png_charp)keys[i];
        chunk.text = (png_charp)texts[i];
        if (latin1[i]) {
            chunk.compression = PNG_TEXT_COMPRESSION_NONE;
            chunk.text_length = strlen(texts[i]);
        } else {
            chunk.compression = PNG_ITXT_COMPRESSION_NONE;
            chunk.itxt_length = strlen(texts[i]);
        }
        png_set_text(png, info, &chunk, 1);
    }
    png_write_info(png, info);
    if (mode == 1) png_set_filler(png, 0, PNG_FILLER_AFTER);
    for (unsigned y = 0; y < height; y++) {
        png_write_row(png, (png_const_bytep)(pixels + (size_t)y * stride));
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *out = buffer->data;
    *outSize = buffer->size;
    free(buffer);
    return 0;
}

/// Common writer with at most one iTXt chunk (`key` NULL: none).
static inline int CLibPNG_encodeImage(const unsigned char *pixels, unsigned width, unsigned height,
                                      size_t stride, int mode, const unsigned char *palette, int paletteCount,
                                      int level, int filters, int strategy,
                                      const char *key, const char *text,
                                      unsigned char **out, size_t *outSize) {
    const int utf8 = 0;
    return CLibPNG_encodeImageTexts(pixels, width, height, stride, mode, palette, paletteCount, level, filters, strategy,
                                    &key, &text, &utf8, key ? 1 : 0, out, outSize);
}

static inline int CLibPNG_encodeRGBAWithText(const unsigned char *pixels, unsigned width, unsigned height,
                                             size_t stride, int level, int filters, int strategy,
                                             const char *key, const char *text,
                                             unsigned char **out, size_t *outSize) {
    return CLibPNG_encodeImage(pixels, width, height, stride, 0, NULL, 0, level, filters, strategy, key, text, out, outSize);
}

/// The same without a text chunk.
static inline int CLibPNG_encodeRGBA(const unsigned char *pixels, unsigned width, unsigned height,
                                     size_t stride, int level, int filters, int strategy,
                                     unsigned char **out, size_t *outSize) {
    return CLibPNG_encodeRGBAWithText(pixels, width, height, stride, level, filters, strategy,
                                      NULL, NULL, out, outSize);
}

/// Memory source for the reader below.
typedef struct {
    const unsigned char *data;
    size_t size;
    size_t offset;
} CLibPNG_Source;

static void CLibPNG_readCallback(png_structp png, png_bytep bytes, png_size_t length) {
    CLibPNG_Source *source = (CLibPNG_Source *)png_get_io_ptr(png);
    if (length > source->size - source->offset) png_error(png, "truncated PNG");
    memcpy(bytes, source->data + source->offset, length);
    source->offset += length;
}

/// Reader errors are reported by the return code; libpng's default handler would also print them.
static void CLibPNG_quietError(png_structp png, png_const_charp message) {
    (void)message;
    png_longjmp(png, 1);
}

static void CLibPNG_quietWarning(png_structp png, png_const_charp message) { (void)png; (void)message; }

/// Finds the text chunk (tEXt, zTXt or iTXt) named `key` among the chunks before the image data.
/// Returns 1 and a malloc'd NUL-terminated copy in `*out` (free it with `free`) when found,
/// 0 when absent, -1 when the PNG is malformed. `maxBytes` bounds what libpng may allocate
/// for any one chunk (and so the inflated size of a compressed text).
static inline int CLibPNG_readText(const unsigned char *bytes, size_t size, const char *key,
                                   size_t maxBytes, char **out, size_t *outSize) {
    *out = NULL;
    *outSize = 0;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, CLibPNG_quietError, CLibPNG_quietWarning);
    if (!png) return -1;
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_read_struct(&png, NULL, NULL); return -1; }
    CLibPNG_Source source = { bytes, size, 0 };
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(*out);
        *out = NULL;
        *outSize = 0;
        return -1;
    }
    png_set_chunk_malloc_max(png, maxBytes);
    png_set_read_fn(png, &source, CLibPNG_readCallback);
    png_read_info(png, info);
    png_textp texts = NULL;
    int count = png_get_text(png, info, &texts, NULL);
    int found = 0;
    for (int i = 0; i < count; i++) {
        if (strcmp(texts[i].key, key) != 0) continue;
        size_t length = texts[i].compression >= PNG_ITXT_COMPRESSION_NONE ? texts[i].itxt_length
                                                                          : texts[i].text_length;
        char *copy = (char *)malloc(length + 1);
        if (!copy) png_error(png, "out of memory");
        memcpy(copy, texts[i].text, length);
        copy[length] = 0;
        *out = copy;
        *outSize = length;
        found = 1;
        break;
    }
    png_destroy_read_struct(&png, &info, NULL);
    return found;
}
