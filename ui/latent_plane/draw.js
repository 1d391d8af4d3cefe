// The plane's canvas, as methods of Plane (plane.js): held-out codes coloured by class, axes, the page's overlays,
// the pin and the pointer. The static part is drawn once to an offscreen layer; each frame copies it and adds the
// pin and the pointer on top.
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf"];
const MARGIN = { left: 48, right: 10, top: 10, bottom: 38 };
// The decode beside the plane: at least `min` px of width for it (the decode ≥ 160 px), at most `max`; `below`:
// what is kept free under the legend at the bottom of the screen.
const SIDE = { min: 190, max: 300, gap: 22, below: 18 };

const PlaneDrawing = {
  // The plane and its decode side by side, both on the first screen when the plane starts there: the plane takes
  // the height left under it (a projector or an LMS iframe is short), the decode the width left beside it.
  resize() {
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
    // Beside the plane the decode may be as tall as the plane (less its caption); under it, it stays small so the
    // plane and the decode share a phone's screen.
    const big = Math.max(120, Math.min(side, wide ? size - 30 : 200, 280));
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
    let top = this.canvas.getBoundingClientRect().top;
    for (let node = this.box; node; node = node.parentNode || node.host) {
      if (node.scrollTop) top += node.scrollTop; // the plane's place on the page, not on the scrolled screen
    }
    const legend = this.legendNode.offsetHeight || 0;
    const room = Math.floor(view - top - legend - SIDE.below);
    return top < view * 0.6 && room >= 260 ? room : null;
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

  drawStatic() {
    if (!this.staticLayer) return;
    const g = this.staticLayer.getContext("2d");
    const dpr = this.dpr;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, this.size, this.size);
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, this.size, this.size);
    const [x0, x1, y0, y1] = this.plane.extent;
    const [ax, ay] = this.toPixel(x0, y1);
    const [bx, by] = this.toPixel(x1, y0);
    g.fillStyle = "#fafafa";
    g.fillRect(ax, ay, bx - ax, by - ay);
    g.save();
    g.beginPath();
    g.rect(ax, ay, bx - ax, by - ay);
    g.clip();
    this.drawTicks(g, ax, ay, bx, by, true);
    if (this.plane.grid) this.drawRect(g, this.plane.grid, "#888888", [6, 4], "rgba(0,0,0,0.03)");
    for (const o of this.overlays) {
      if (o.rect) this.drawRect(g, o.rect, o.color || "#d62728", [8, 5], null, 3);
    }
    const labels = this.b.labels;
    g.globalAlpha = 0.75;
    for (let i = 0; i < this.n; i++) {
      const [px, py] = this.toPixel(this.b.xy[2 * i], this.b.xy[2 * i + 1]);
      g.fillStyle = labels[i] >= 0 ? PALETTE[labels[i] % PALETTE.length] : "#1f77b4";
      g.beginPath();
      g.arc(px, py, 2.6, 0, 2 * Math.PI);
      g.fill();
    }
    for (const o of this.overlays) if (o.point) this.drawPoint(g, o.point, o.label || "", o.color || "#111111");
    g.restore();
    g.strokeStyle = "#bbbbbb";
    g.lineWidth = 1;
    g.strokeRect(ax, ay, bx - ax, by - ay);
    this.drawTicks(g, ax, ay, bx, by, false);
    g.fillStyle = "#31333f";
    g.font = "13px sans-serif";
    g.textAlign = "center";
    g.fillText(this.plane.x_label, (ax + bx) / 2, this.size - 6);
    g.save();
    g.translate(13, (ay + by) / 2);
    g.rotate(-Math.PI / 2);
    g.fillText(this.plane.y_label, 0, 0);
    g.restore();
  },

  drawTicks(g, ax, ay, bx, by, lines) {
    const [x0, x1, y0, y1] = this.plane.extent;
    g.font = "11px sans-serif";
    g.fillStyle = "#555a66";
    g.strokeStyle = "#ececec";
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
    g.strokeStyle = "#ffffff";
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
    g.strokeStyle = "#ffffff";
    g.strokeText(label, px + 11, py - 9);
    g.fillStyle = color;
    g.fillText(label, px + 11, py - 9);
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
    const g = this.canvas.getContext("2d");
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.drawImage(this.staticLayer, 0, 0);
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    if (this.pin) this.drawCross(g, this.pin, "#111111", 7, 2.5);
    const hover = this.hover;
    if (hover) {
      g.strokeStyle = "rgba(17,17,17,0.55)";
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
    g.strokeStyle = "#ffffff";
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

function niceTicks(lo, hi, count) {
  const raw = (hi - lo) / Math.max(count, 1);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}
