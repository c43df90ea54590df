// Render: RGBA canvas, bitmap font, colour maps, PNG/SVG encoding and the visualization views.
//
// Entry points: `LayerRenderer.render(_:weight:layer:options:…)` for one layer,
// `LayerRenderer.renderOverview(layers:options:)` for a page of many, and
// `LayerRenderer.renderLayerList(_:)` for a list of names drawn as an image.
// Everything here is pure: tensors in, PNG/SVG bytes out. No file I/O.
