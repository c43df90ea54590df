// Render: RGBA canvas, bitmap font, colour maps, PNG/SVG encoding and the visualization views.
