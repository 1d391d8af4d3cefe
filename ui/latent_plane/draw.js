// The plane's canvas, as methods of Plane (plane.js): held-out codes coloured by class (the payload's colours, from
// models/analysis/palette.py) as dots or as their class labels, axes, the page's overlays, the pin and the pointer,
// in the colours of Streamlit's theme. The static part is drawn once to an offscreen layer; each frame copies it and
// adds the pin and the pointer on top.
const MARGIN = { left: 48, right: 10, top: 10, bottom: 38 };
// The decode beside the plane: at least `min` px of width for it (the decode ≥ 160 px), at most `max`; `below`:
// what is kept free under the legend at the bottom of the screen.
const SIDE = { min: 190, max: 300, gap: 22, below: 18 };
// Streamlit's light theme, for a page that sets no theme variables.
const LIGHT = { background: "#ffffff", text: "#31333f" };

const PlaneDrawing = {
  // The plane and its decode side by side, both on the first screen when the plane starts there: the plane takes
  // the height left under it (a projector or an LMS iframe is short), the decode the width left beside it.
  resize() {
    this.fitTop = this.pageTop();
    const width = this.box.clientWidth || 600;
    const wide = width >= 520;
    this.box.classList.toggle("aex-stacked", !wide);
    let size = Math.max(220, Math.min(wide ? width - SIDE.min - SIDE.gap : width, 560));
    // Twice: the legend under the plane wraps onto more lines as the plane narrows.
    for (let pass = 0; wide && pass < 2; pass++) {
      this.left.style.width = `${size}px`;
      const room = this.roomBelow();
      if (room !== null) size = Math.max(220, Math.min(size, room));
    }
    this.left.style.width = `${size}px`;
    const side = wide ? Math.min(SIDE.max, width - size - SIDE.gap) : width;
    // Beside the plane the decode may be as tall as the plane (less its caption, and less a pinned image's posterior
    // panel, posterior.js); under it, it stays small so the plane and the decode share a phone's screen.
    const reserve = this.posteriorReserve(wide ? width - size - SIDE.gap : width);
    const big = Math.max(120, Math.min(side, wide ? size - 30 - reserve : 200, 280));
    if (size === this.size && big === this.big) return;
    this.size = size;
    this.big = big;
    const dpr = window.devicePixelRatio || 1;
    this.dpr = dpr;
    this.canvas.style.width = this.canvas.style.height = `${size}px`;
    this.canvas.width = this.canvas.height = Math.round(size * dpr);
    this.decoded.style.width = this.decoded.style.height = `${big}px`;
    const small = Math.round(Math.min(big, 200) / 2.2);
    this.thumb.style.width = this.thumb.style.height = `${small}px`;
    this.staticLayer = document.createElement("canvas");
    this.staticLayer.width = this.staticLayer.height = this.canvas.width;
    this.drawStatic();
    this.request(true);
  },

  // The height from the plane's top to the bottom of the first screen, less the legend under it; null when the
  // plane starts too far down for that to matter (a plane further down a page is scrolled to anyway).
  roomBelow() {
    const view = window.innerHeight;
    const top = this.pageTop();
    const legend = this.legendNode.offsetHeight || 0;
    const room = Math.floor(view - top - legend - SIDE.below);
    return top < view * 0.6 && room >= 260 ? room : null;
  },

  // The plane's place on the page, not on the scrolled screen (its own size does not move it: it starts its box).
  pageTop() {
    let top = this.canvas.getBoundingClientRect().top;
    for (let node = this.box; node; node = node.parentNode || node.host) {
      if (node.scrollTop) top += node.scrollTop;
    }
    return top;
  },

  toPixel(x, y) {
    const [x0, x1, y0, y1] = this.plane.extent;
    const w = this.size - MARGIN.left - MARGIN.right;
    const h = this.size - MARGIN.top - MARGIN.bottom;
    return [MARGIN.left + ((x - x0) / (x1 - x0)) * w, MARGIN.top + (1 - (y - y0) / (y1 - y0)) * h];
  },

  toPlane(px, py) {
    const [x0, x1, y0, y1] = this.plane.extent;
    const w = this.size - MARGIN.left - MARGIN.right;
    const h = this.size - MARGIN.top - MARGIN.bottom;
    return [x0 + ((px - MARGIN.left) / w) * (x1 - x0), y0 + (1 - (py - MARGIN.top) / h) * (y1 - y0)];
  },

  // The theme's background and text colours (CSS variables Streamlit sets on the component's wrapper), and the
  // shades between them the plane draws with: the plot area, grid lines, the border, ticks.
  readTheme() {
    const style = getComputedStyle(this.box);
    const background = rgbOf(style.getPropertyValue("--st-background-color")) || rgbOf(LIGHT.background);
    const text = rgbOf(style.getPropertyValue("--st-text-color")) || rgbOf(LIGHT.text);
    const shade = (t) => `rgb(${background.map((b, k) => Math.round(b + (text[k] - b) * t)).join(",")})`;
    this.theme = { background: shade(0), text: shade(1), area: shade(0.02), grid: shade(0.08), border: shade(0.3),
      ticks: shade(0.8), dashed: shade(0.5), faint: `rgba(${text.join(",")},0.04)`,
      ring: `rgba(${text.join(",")},0.35)`, hover: `rgba(${text.join(",")},0.6)` };
    return this.theme;
  },

  classColour(label) {
    const colours = this.h.class_colours || [];
    return label >= 0 && colours.length ? colours[label % colours.length] : this.h.neutral_colour || "#7a8290";
  },

  // A code's mark in glyph mode: its class label when that is a character or two ("7"), else the class number
  // ("person 17" → "17"); null for an unlabelled code, which stays a dot.
  glyph(label) {
    if (label < 0) return null;
    const name = (this.h.label_names || [])[label];
    return name && name.length <= 2 ? name : String(label);
  },

  drawStatic() {
    if (!this.staticLayer) return;
    const theme = this.readTheme();
    const g = this.staticLayer.getContext("2d");
    const dpr = this.dpr;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, this.size, this.size);
    g.fillStyle = theme.background;
    g.fillRect(0, 0, this.size, this.size);
    const [x0, x1, y0, y1] = this.plane.extent;
    const [ax, ay] = this.toPixel(x0, y1);
    const [bx, by] = this.toPixel(x1, y0);
    g.fillStyle = theme.area;
    g.fillRect(ax, ay, bx - ax, by - ay);
    g.save();
    g.beginPath();
    g.rect(ax, ay, bx - ax, by - ay);
    g.clip();
    this.drawTicks(g, ax, ay, bx, by, true);
    if (this.plane.grid) this.drawRect(g, this.plane.grid, theme.dashed, [6, 4], theme.faint);
    for (const o of this.overlays) {
      if (o.rect) this.drawRect(g, o.rect, o.color || "#d62728", [8, 5], null, 3);
    }
    if (this.spreadShown()) this.drawEllipses(g);
    else this.stats.ellipses = 0;
    this.drawCodes(g);
    for (const o of this.overlays) if (o.path) this.drawPath(g, o.path, o.color || theme.text, o.dash || []);
    for (const o of this.overlays) if (o.point) this.drawPoint(g, o.point, o.label || "", o.color || theme.text);
    g.restore();
    g.strokeStyle = theme.border;
    g.lineWidth = 1;
    g.strokeRect(ax, ay, bx - ax, by - ay);
    this.drawTicks(g, ax, ay, bx, by, false);
    g.fillStyle = theme.text;
    g.font = "13px sans-serif";
    g.textAlign = "center";
    g.fillText(this.plane.x_label, (ax + bx) / 2, this.size - 6);
    g.save();
    g.translate(13, (ay + by) / 2);
    g.rotate(-Math.PI / 2);
    g.fillText(this.plane.y_label, 0, 0);
    g.restore();
  },

  // Each held-out code as a dot in its class's colour, or (Python's view says marks: "glyphs") as its class label in
  // that colour, so class does not rest on colour alone.
  drawCodes(g) {
    const labels = this.b.labels;
    const glyphs = (this.state || {}).marks === "glyphs";
    const spread = this.spreadShown(); // the ellipses are the marks: each code's dot shrinks to its centre
    g.globalAlpha = glyphs ? 0.9 : 0.8;
    g.strokeStyle = this.theme.ring;
    g.lineWidth = 0.7;
    g.font = "bold 12px sans-serif";
    g.textAlign = "center";
    g.textBaseline = "middle";
    for (let i = 0; i < this.n; i++) {
      const [px, py] = this.toPixel(this.b.xy[2 * i], this.b.xy[2 * i + 1]);
      g.fillStyle = this.classColour(labels[i]);
      const glyph = glyphs ? this.glyph(labels[i]) : null;
      if (glyph) {
        g.fillText(glyph, px, py);
        continue;
      }
      g.beginPath();
      g.arc(px, py, spread ? 1.3 : 2.6, 0, 2 * Math.PI);
      g.fill();
      if (!spread) g.stroke(); // a faint ring in the text colour: pale colours on a light plane, dark ones on a dark one
    }
    g.globalAlpha = 1;
    g.textBaseline = "alphabetic";
  },

  drawTicks(g, ax, ay, bx, by, lines) {
    const [x0, x1, y0, y1] = this.plane.extent;
    g.font = "11px sans-serif";
    g.fillStyle = this.theme.ticks;
    g.strokeStyle = this.theme.grid;
    g.lineWidth = 1;
    for (const t of niceTicks(x0, x1, 6)) {
      const [px] = this.toPixel(t, y0);
      if (lines) { g.beginPath(); g.moveTo(px, ay); g.lineTo(px, by); g.stroke(); continue; }
      g.textAlign = "center";
      g.fillText(String(+t.toPrecision(4)), px, by + 14);
    }
    for (const t of niceTicks(y0, y1, 6)) {
      const [, py] = this.toPixel(x0, t);
      if (lines) { g.beginPath(); g.moveTo(ax, py); g.lineTo(bx, py); g.stroke(); continue; }
      g.textAlign = "right";
      g.fillText(String(+t.toPrecision(4)), ax - 4, py + 4);
    }
  },

  drawPoint(g, [x, y], label, color) {
    const [px, py] = this.toPixel(x, y);
    g.globalAlpha = 1;
    g.lineWidth = 3;
    g.strokeStyle = this.theme.background;
    g.beginPath();
    g.arc(px, py, 8, 0, 2 * Math.PI);
    g.stroke();
    g.lineWidth = 2;
    g.strokeStyle = color;
    g.stroke();
    if (!label) return;
    g.font = "bold 13px sans-serif";
    g.textAlign = "left";
    g.lineWidth = 3;
    g.strokeStyle = this.theme.background;
    g.strokeText(label, px + 11, py - 9);
    g.fillStyle = color;
    g.fillText(label, px + 11, py - 9);
  },

  // A path through plane points (an interpolation's), a dot at each, the line in the theme's background first so it
  // reads over the codes.
  drawPath(g, points, color, dash) {
    const pixels = points.map(([x, y]) => this.toPixel(x, y));
    g.setLineDash(dash);
    for (const [stroke, width] of [[this.theme.background, 4.5], [color, 2]]) {
      g.strokeStyle = stroke;
      g.lineWidth = width;
      g.beginPath();
      pixels.forEach(([px, py], k) => (k ? g.lineTo(px, py) : g.moveTo(px, py)));
      g.stroke();
    }
    g.setLineDash([]);
    g.fillStyle = color;
    for (const [px, py] of pixels) { g.beginPath(); g.arc(px, py, 2.4, 0, 2 * Math.PI); g.fill(); }
  },

  drawRect(g, [x0, x1, y0, y1], stroke, dash, fill, width = 1.5) {
    const [ax, ay] = this.toPixel(x0, y1);
    const [bx, by] = this.toPixel(x1, y0);
    if (fill) { g.fillStyle = fill; g.fillRect(ax, ay, bx - ax, by - ay); }
    g.setLineDash(dash);
    g.strokeStyle = stroke;
    g.lineWidth = width;
    g.strokeRect(ax, ay, bx - ax, by - ay);
    g.setLineDash([]);
  },

  // At most one decode per animation frame, always of the latest pointer position.
  request(force = false) {
    if (force) this.dirty = true;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  },

  render() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.lastRender = performance.now();
    this.updatePosterior();
    const g = this.canvas.getContext("2d");
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.drawImage(this.staticLayer, 0, 0);
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    if (this.pin) this.drawCross(g, this.pin, this.theme.text, 7, 2.5);
    const hover = this.hover;
    if (hover) {
      g.strokeStyle = this.theme.hover;
      g.lineWidth = 1.5;
      g.beginPath();
      g.arc(hover.px, hover.py, 6, 0, 2 * Math.PI);
      g.stroke();
    }
    const target = hover ? [hover.x, hover.y] : this.pin || this.plane.start;
    if (!hover && !this.dirty && this.shown === "pin") return;
    this.dirty = false;
    this.shown = hover ? "hover" : "pin";
    this.show(target, hover ? "pointer" : this.pin ? "pinned" : "start");
    if (hover) {
      const done = performance.now();
      this.stats.latencies.push(done - hover.t);
      if (this.stats.latencies.length > 2000) this.stats.latencies.shift();
    }
  },

  drawCross(g, [x, y], color, r, width) {
    const [px, py] = this.toPixel(x, y);
    g.strokeStyle = this.theme.background;
    g.lineWidth = width + 2;
    for (const pass of [0, 1]) {
      g.beginPath();
      g.moveTo(px - r, py - r); g.lineTo(px + r, py + r);
      g.moveTo(px - r, py + r); g.lineTo(px + r, py - r);
      g.stroke();
      g.strokeStyle = color;
      g.lineWidth = width;
    }
  },
};

// A CSS colour (any syntax, e.g. "#0e1117" or "rgb(14, 17, 23)") as [r, g, b], or null when it is empty or invalid.
const PROBE = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
function rgbOf(value) {
  const text = (value || "").trim();
  if (!text) return null;
  PROBE.fillStyle = "#010203";
  PROBE.fillStyle = text; // an invalid colour leaves the sentinel in place
  if (PROBE.fillStyle === "#010203" && text.toLowerCase() !== "#010203") return null;
  PROBE.clearRect(0, 0, 1, 1);
  PROBE.fillRect(0, 0, 1, 1);
  return Array.from(PROBE.getImageData(0, 0, 1, 1).data.slice(0, 3));
}

function niceTicks(lo, hi, count) {
  const raw = (hi - lo) / Math.max(count, 1);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}
