// The latent plane: held-out codes coloured by class, and the decode of z under the pointer, computed here in the
// browser with the model's own decoder weights (WebAssembly SIMD kernels from kernels.c). Nothing goes to the
// server while the pointer moves. A click or an arrow key pins z and tells Python through the bridge component
// that lives in the page's fragment (bridge.js); Python's answer (the sliders' snapped z, overlays) comes back the
// same way. data: the payload that payload.py packs, sent once per model.
const WASM_BASE64 = "__AEX_WASM_BASE64__";
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf"];
const MARGIN = { left: 48, right: 10, top: 10, bottom: 38 };
const SNAP_PX = 7;
const FRAME_MS = 16;
const MAX_LEGEND = 12; // more classes than this (40 people) would be a wall of swatches // a click this close to a held-out code pins that code exactly
const HEAP_START = 1 << 20; // bytes below this are the C stack's

function registry() {
  if (!window.__aex) {
    window.__aex = { module: null, planes: new Map(), bridges: new Map(), pending: new Map(), stats: {} };
  }
  return window.__aex;
}

function wasmModule() {
  const reg = registry();
  if (!reg.module) {
    const bytes = Uint8Array.from(atob(WASM_BASE64), (c) => c.charCodeAt(0));
    reg.module = WebAssembly.compile(bytes);
  }
  return reg.module;
}

// --- the payload: "AEX1", u32 header length, JSON header, then the buffers it lists ----------------------------
function parsePayload(u8) {
  const magic = String.fromCharCode(u8[0], u8[1], u8[2], u8[3]);
  if (magic !== "AEX1") throw new Error("not a latent-plane payload");
  const headerLength = new DataView(u8.buffer, u8.byteOffset + 4, 4).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(u8.subarray(8, 8 + headerLength)));
  const blob = u8.slice(header.blob_start); // a copy: typed views need an aligned buffer of their own
  const types = { f32: Float32Array, u8: Uint8Array, i16: Int16Array };
  const buffers = {};
  for (const [name, spec] of Object.entries(header.buffers)) {
    buffers[name] = new types[spec.dtype](blob.buffer, spec.offset, spec.length);
  }
  return { header, buffers };
}

// --- the decoder: linear and transposed-convolution kernels in WebAssembly, activations here ---------------------
const ACTIVATIONS = {
  sigmoid: (v) => { for (let i = 0; i < v.length; i++) v[i] = 1 / (1 + Math.exp(-v[i])); },
  tanh: (v) => { for (let i = 0; i < v.length; i++) v[i] = Math.tanh(v[i]); },
  relu: (v) => { for (let i = 0; i < v.length; i++) if (v[i] < 0) v[i] = 0; },
};

class Decoder {
  static async create(program, weights) {
    const instance = await WebAssembly.instantiate(await wasmModule(), {});
    return new Decoder(instance.exports, program, weights);
  }

  constructor(kernels, program, weights) {
    this.k = kernels;
    this.program = program;
    let offset = HEAP_START;
    const alloc = (floats) => { const at = offset; offset += (floats * 4 + 15) & ~15; return at; };
    this.weightsAt = alloc(weights.length);
    this.inputAt = alloc(program.latent);
    this.steps = [];
    let current = this.inputAt;
    let size = program.latent;
    for (const op of program.ops) {
      if (op.op === "act") {
        this.steps.push({ op, x: current, n: size });
        continue;
      }
      size = op.op === "linear" ? op.out : op.out_h * op.out_w * op.out_c;
      const out = alloc(size);
      this.steps.push({ op, x: current, y: out, w: this.weightsAt + op.w[0] * 4, b: this.weightsAt + op.b[0] * 4 });
      current = out;
    }
    this.outputAt = current;
    this.outputSize = size;
    const memory = kernels.memory;
    if (offset > memory.buffer.byteLength) memory.grow(Math.ceil((offset - memory.buffer.byteLength) / 65536));
    new Float32Array(memory.buffer, this.weightsAt, weights.length).set(weights);
  }

  // z: the latent code (array-like). Returns the image as a Float32Array, H×W×C, valid until the next decode.
  decode(z) {
    const buffer = this.k.memory.buffer;
    new Float32Array(buffer, this.inputAt, this.program.latent).set(z);
    for (const s of this.steps) {
      const op = s.op;
      if (op.op === "linear") {
        this.k.linear(s.x, op.in, s.w, s.b, op.out, s.y);
      } else if (op.op === "conv_transpose") {
        this.k.conv_transpose(s.x, op.in_h, op.in_w, op.in_c, s.w, s.b, op.out_c, op.kh, op.kw, op.sh, op.sw,
          op.ph, op.pw, s.y, op.out_h, op.out_w);
      } else {
        ACTIVATIONS[op.fn](new Float32Array(buffer, s.x, s.n));
      }
    }
    return new Float32Array(buffer, this.outputAt, this.outputSize);
  }
}

// HWC floats in [0, 1] → RGBA pixels: grey, the mean of the channels (as the server's pictures are), or RGB.
function toRGBA(values, channels, rgba) {
  const pixels = rgba.length / 4;
  for (let p = 0; p < pixels; p++) {
    let r, g, b;
    if (channels === 3 || channels === 4) {
      r = values[p * channels]; g = values[p * channels + 1]; b = values[p * channels + 2];
    } else {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += values[p * channels + c];
      r = g = b = sum / channels;
    }
    rgba[p * 4] = quantise(r); rgba[p * 4 + 1] = quantise(g); rgba[p * 4 + 2] = quantise(b); rgba[p * 4 + 3] = 255;
  }
}

function quantise(v) {
  return v > 0 ? (v < 1 ? Math.floor(v * 255 + 0.5) : 255) : 0; // NaN → 0, as np.nan_to_num then clip
}

function niceTicks(lo, hi, count) {
  const raw = (hi - lo) / Math.max(count, 1);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

function format(v) {
  return (Math.abs(v) < 0.005 ? 0 : v).toFixed(2);
}

// --- the plane -------------------------------------------------------------------------------------------------
class Plane {
  constructor(root, header, buffers, decoder) {
    this.root = root;
    this.h = header;
    this.b = buffers;
    this.decoder = decoder;
    this.plane = { ...header.plane };
    this.n = header.count;
    this.latent = header.program.latent;
    const [c, height, width] = header.program.image_shape;
    this.image = { c, height, width };
    this.base = Float32Array.from(this.plane.base);
    this.pin = null; // [x, y] in plane coordinates
    this.overlays = [];
    this.hover = null; // {x, y, t}
    this.frame = 0;
    this.z = new Float32Array(this.latent);
    this.stats = (registry().stats[header.id] = { latencies: [], decodeMs: [], decodes: 0, pins: 0, reloads: 0 });
    this.seqBase = Date.now(); // above any pin an earlier page sent, so a reloaded page's pins count as newer
    this.sentSeq = 0;
    this.build();
  }

  build() {
    const h = this.h;
    const box = el("div", "aex");
    box.dataset.plane = h.id;
    const left = (this.left = el("div", "aex-left"));
    this.canvas = el("canvas", "aex-plane");
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("role", "application");
    this.canvas.setAttribute("aria-label", `${h.title}: ${this.plane.x_label} by ${this.plane.y_label}. ` +
      "Move the pointer to decode; click to pin; arrow keys move the pin.");
    this.legendNode = this.legend();
    left.append(this.canvas, this.legendNode);
    const side = el("div", "aex-side");
    this.caption = el("div", "aex-caption", "Decoded in your browser");
    this.decoded = el("canvas", "aex-decoded");
    this.decoded.width = this.image.width;
    this.decoded.height = this.image.height;
    this.readout = el("div", "aex-readout");
    const nearest = el("div", "aex-nearest");
    this.thumb = el("canvas", "aex-thumb");
    this.thumb.width = this.image.width;
    this.thumb.height = this.image.height;
    this.nearestText = el("div", "aex-nearest-text");
    nearest.append(this.thumb, this.nearestText);
    this.thumb.style.display = this.b.thumbs.length ? "" : "none"; // a live frame may come without the images
    const hint = el("div", "aex-hint", "Point to decode · click to pin z · arrow keys move the pin (Shift: ×10)");
    side.append(this.caption, this.decoded, this.readout, nearest, hint);
    box.append(left, side);
    this.root.append(box);
    this.box = box;
    this.pixels = new ImageData(this.image.width, this.image.height);
    this.listen();
    this.resize();
  }

  legend() {
    const legend = el("div", "aex-legend");
    const names = this.h.label_names;
    if (!names || !names.length) return legend;
    const present = new Set(this.b.labels);
    if (present.size > MAX_LEGEND) {
      legend.textContent = `Coloured by class: ${present.size} classes (the readout names the nearest one).`;
      return legend;
    }
    names.forEach((name, i) => {
      if (!present.has(i)) return;
      const item = el("span", "aex-legend-item");
      const dot = el("span", "aex-dot");
      dot.style.background = PALETTE[i % PALETTE.length];
      item.append(dot, document.createTextNode(name));
      legend.append(item);
    });
    return legend;
  }

  listen() {
    const c = this.canvas;
    this.onMove = (e) => {
      const [x, y] = this.toPlane(e.offsetX, e.offsetY);
      this.hover = { x, y, t: e.timeStamp, px: e.offsetX, py: e.offsetY };
      this.request();
    };
    this.onLeave = () => { this.hover = null; this.request(); };
    this.onClick = (e) => {
      let [x, y] = this.toPlane(e.offsetX, e.offsetY);
      const near = this.nearestOnScreen(e.offsetX, e.offsetY);
      if (near !== null) [x, y] = [this.b.xy[2 * near], this.b.xy[2 * near + 1]];
      c.focus();
      this.pinAt(x, y);
    };
    this.onKey = (e) => {
      const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
      if (!moves[e.key]) return;
      e.preventDefault();
      const [dx, dy] = moves[e.key];
      const scale = e.shiftKey ? 10 : 1;
      const [x, y] = this.pin || this.plane.start;
      this.pinAt(x + dx * scale * this.plane.step[0], y + dy * scale * this.plane.step[1]);
    };
    c.addEventListener("pointermove", this.onMove);
    c.addEventListener("pointerleave", this.onLeave);
    c.addEventListener("click", this.onClick);
    c.addEventListener("keydown", this.onKey);
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(this.root);
  }

  destroy() {
    const c = this.canvas;
    c.removeEventListener("pointermove", this.onMove);
    c.removeEventListener("pointerleave", this.onLeave);
    c.removeEventListener("click", this.onClick);
    c.removeEventListener("keydown", this.onKey);
    this.observer.disconnect();
    if (this.sliderObserver) this.sliderObserver.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
    const reg = registry();
    if (reg.planes.get(this.h.id) === this) reg.planes.delete(this.h.id);
  }

  // Python's view: the pinned z (the sliders' snapped values), the base code for the other principal directions,
  // and overlays (e.g. the Holes region). Applied without telling Python back.
  update(state) {
    this.applyState(state);
    window.dispatchEvent(new CustomEvent("aex-bridge", { detail: { plane: this.h.id } })); // Python answered
  }

  applyState(state) {
    this.state = state;
    if (state.base && state.base.length === this.latent) this.base = Float32Array.from(state.base);
    this.follow(state.live || null);
    // A page may widen the plane (e.g. to reach the code of a user's image) without a new payload.
    const extent = Array.isArray(state.extent) && state.extent.length === 4 ? state.extent : null;
    this.plane.extent = extent || this.h.plane.extent;
    this.plane.bounds = extent || this.h.plane.bounds;
    // Python echoes the last pin it applied: an answer to an older pin (keys pressed faster than reruns) must not
    // pull the marker back from where the newest pin put it.
    const stale = this.sentSeq && typeof state.seq === "number" && state.seq < this.sentSeq;
    if (!stale) {
      this.pin = state.pin ? [state.pin[0], state.pin[1]] : null;
      this.sliderReading = null; // the pin moved without the sliders: their next reading must be drawn
    }
    this.overlays = state.overlays || [];
    this.drawStatic();
    this.request(true);
  }

  // A new payload for the same plane (e.g. a model while it trains): swap the model and codes in place, keeping
  // the pointer, the pin and the page's view, so a live plane redraws without flicker.
  canReload(header) {
    const [c, height, width] = header.program.image_shape;
    return header.id === this.h.id && header.program.latent === this.latent && c === this.image.c &&
      height === this.image.height && width === this.image.width;
  }

  reload(header, buffers, decoder) {
    this.h = header;
    this.b = buffers;
    this.decoder = decoder;
    this.n = header.count;
    this.plane = { ...header.plane };
    this.base = Float32Array.from(this.plane.base);
    this.legendNode.replaceWith((this.legendNode = this.legend()));
    this.thumb.style.display = buffers.thumbs.length ? "" : "none";
    this.stats.reloads += 1;
    this.applyState(this.state || {});
    window.dispatchEvent(new CustomEvent("aex-reloaded", { detail: { plane: header.id } }));
  }

  // The page's own sliders, mirrored as they move (keyboard or drag), before their value reaches the server:
  // live = {x: {key, scale}, y: {key, scale}, base, terms: [{key, vector}]}, keys of Streamlit sliders.
  follow(live) {
    if (this.sliderObserver) this.sliderObserver.disconnect();
    this.live = live;
    if (!live) return;
    // Watch the whole app, not the inputs themselves: Streamlit may mount a slider after the plane, or replace
    // its input on a rerun, and an observer on a detached input would never fire again.
    const selectors = this.liveKeys().map((key) => `.st-key-${CSS.escape(key)}`).join(",");
    // Only a slider the user is moving (it holds the focus, by keyboard or drag) is mirrored: a slider that Python
    // sets in its answer must not pull the pin back from where newer arrow keys or clicks put it.
    this.sliderObserver = new MutationObserver((mutations) => {
      const moved = mutations.some((m) => {
        const box = m.target instanceof Element ? m.target.closest(selectors) : null;
        return box && box.contains(document.activeElement);
      });
      if (moved) this.readSliders();
    });
    this.sliderObserver.observe(document.body, {
      attributes: true, subtree: true, attributeFilter: ["value", "aria-valuetext"],
    });
  }

  liveKeys() {
    const live = this.live;
    return [live.x.key, live.y.key, ...(live.terms || []).map((t) => t.key)];
  }

  readSliders() {
    const live = this.live;
    const value = (key) => { const input = sliderInput(key); return input ? Number(input.value) : NaN; };
    const x = value(live.x.key) * live.x.scale;
    const y = value(live.y.key) * live.y.scale;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    if (live.base && live.base.length === this.latent) {
      const base = Float32Array.from(live.base);
      for (const term of live.terms || []) {
        const a = value(term.key);
        if (Number.isFinite(a)) for (let j = 0; j < this.latent; j++) base[j] += a * term.vector[j];
      }
      this.base = base;
    }
    const reading = [x, y, ...(live.terms || []).map((t) => value(t.key))].join(",");
    if (reading === this.sliderReading) return; // one step mutates several attributes: decode it once
    this.sliderReading = reading;
    this.pin = [x, y];
    this.dirty = true;
    // A slider moves at human rate: draw at once (before its value even leaves for the server), unless a
    // picture was drawn within this frame, then on the next one.
    if (!this.frame && performance.now() - (this.lastRender || 0) > FRAME_MS) this.render();
    else this.request(true);
  }

  pinAt(x, y) {
    const [x0, x1, y0, y1] = this.plane.bounds;
    x = Math.min(Math.max(x, x0), x1);
    y = Math.min(Math.max(y, y0), y1);
    this.pin = [x, y];
    this.sliderReading = null;
    this.stats.pins += 1;
    this.sentSeq = this.seqBase + this.stats.pins;
    this.request(true);
    const send = registry().bridges.get(this.h.id);
    if (send) send("pin", { x, y, seq: this.sentSeq });
  }

  // --- geometry ------------------------------------------------------------------------------------------------
  resize() {
    const width = this.box.clientWidth || 600;
    const wide = width >= 520;
    this.box.classList.toggle("aex-stacked", !wide);
    const side = wide ? Math.min(280, Math.max(170, Math.round(width * 0.34))) : width;
    const size = Math.max(220, Math.min(wide ? width - side - 24 : width, 560));
    if (size === this.size) return;
    this.size = size;
    const dpr = window.devicePixelRatio || 1;
    this.dpr = dpr;
    this.canvas.style.width = this.canvas.style.height = `${size}px`;
    this.left.style.width = `${size}px`;
    this.canvas.width = this.canvas.height = Math.round(size * dpr);
    const big = Math.min(side, 260);
    this.decoded.style.width = this.decoded.style.height = `${big}px`;
    const small = Math.round(big / 2.4);
    this.thumb.style.width = this.thumb.style.height = `${small}px`;
    this.staticLayer = document.createElement("canvas");
    this.staticLayer.width = this.staticLayer.height = this.canvas.width;
    this.drawStatic();
    this.request(true);
  }

  toPixel(x, y) {
    const [x0, x1, y0, y1] = this.plane.extent;
    const w = this.size - MARGIN.left - MARGIN.right;
    const h = this.size - MARGIN.top - MARGIN.bottom;
    return [MARGIN.left + ((x - x0) / (x1 - x0)) * w, MARGIN.top + (1 - (y - y0) / (y1 - y0)) * h];
  }

  toPlane(px, py) {
    const [x0, x1, y0, y1] = this.plane.extent;
    const w = this.size - MARGIN.left - MARGIN.right;
    const h = this.size - MARGIN.top - MARGIN.bottom;
    return [x0 + ((px - MARGIN.left) / w) * (x1 - x0), y0 + (1 - (py - MARGIN.top) / h) * (y1 - y0)];
  }

  nearestOnScreen(px, py) {
    let best = null;
    let bestD = SNAP_PX * SNAP_PX;
    for (let i = 0; i < this.n; i++) {
      const [qx, qy] = this.toPixel(this.b.xy[2 * i], this.b.xy[2 * i + 1]);
      const d = (qx - px) ** 2 + (qy - py) ** 2;
      if (d <= bestD) { bestD = d; best = i; }
    }
    return best;
  }

  // The held-out code nearest to z, over every latent dimension (not just the plane's two).
  nearestCode(z) {
    const codes = this.b.codes;
    let best = 0;
    let bestD = Infinity;
    for (let i = 0; i < this.n; i++) {
      let d = 0;
      for (let j = 0; j < this.latent; j++) { const t = codes[i * this.latent + j] - z[j]; d += t * t; }
      if (d < bestD) { bestD = d; best = i; }
    }
    return [best, Math.sqrt(bestD)];
  }

  codeAt(x, y) {
    const { v1, v2 } = this.plane;
    for (let j = 0; j < this.latent; j++) this.z[j] = this.base[j] + x * v1[j] + y * v2[j];
    return this.z;
  }

  // --- drawing -------------------------------------------------------------------------------------------------
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
  }

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
  }

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
  }

  drawRect(g, [x0, x1, y0, y1], stroke, dash, fill, width = 1.5) {
    const [ax, ay] = this.toPixel(x0, y1);
    const [bx, by] = this.toPixel(x1, y0);
    if (fill) { g.fillStyle = fill; g.fillRect(ax, ay, bx - ax, by - ay); }
    g.setLineDash(dash);
    g.strokeStyle = stroke;
    g.lineWidth = width;
    g.strokeRect(ax, ay, bx - ax, by - ay);
    g.setLineDash([]);
  }

  // At most one decode per animation frame, always of the latest pointer position.
  request(force = false) {
    if (force) this.dirty = true;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

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
  }

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
  }

  show([x, y], what) {
    const started = performance.now();
    const z = this.codeAt(x, y);
    const image = this.decoder.decode(z);
    toRGBA(image, this.image.c, this.pixels.data);
    const g = this.decoded.getContext("2d");
    g.putImageData(this.pixels, 0, 0);
    this.stats.decodes += 1;
    this.stats.decodeMs.push(performance.now() - started);
    if (this.stats.decodeMs.length > 2000) this.stats.decodeMs.shift();
    this.decoded.dataset.z = Array.from(z, (v) => v.toFixed(4)).join(",");
    this.decoded.dataset.count = String(this.stats.decodes);
    // For tests and benchmarks outside the shadow root: one event per picture drawn.
    window.dispatchEvent(new CustomEvent("aex-decoded", { detail: { plane: this.h.id, what } }));
    const [index, distance] = this.nearestCode(z);
    this.drawThumb(index);
    const labels = { pointer: "under the pointer", pinned: "pinned", start: "at the start" };
    const coords = this.plane.mode === "pca"
      ? `PC1 = ${format(x / this.plane.std[0])}σ, PC2 = ${format(y / this.plane.std[1])}σ`
      : `z = (${format(x)}, ${format(y)})`;
    this.readout.textContent = `${coords} · ${labels[what]}`;
    const names = this.h.label_names;
    const label = this.b.labels[index];
    const cls = label >= 0 ? `, class ${names && names[label] !== undefined ? names[label] : label}` : "";
    this.nearestText.textContent = `Nearest held-out image: #${index}${cls}, ${distance.toFixed(2)} away in z`;
  }

  drawThumb(index) {
    const { width, height } = this.image;
    const thumbs = this.b.thumbs;
    if (!thumbs.length) return;
    const size = width * height;
    const data = this.thumbPixels || (this.thumbPixels = new ImageData(width, height));
    for (let p = 0; p < size; p++) {
      const v = thumbs[index * size + p];
      data.data[p * 4] = data.data[p * 4 + 1] = data.data[p * 4 + 2] = v;
      data.data[p * 4 + 3] = 255;
    }
    this.thumb.getContext("2d").putImageData(data, 0, 0);
  }
}

function sliderInput(key) {
  return document.querySelector(`.st-key-${CSS.escape(key)} input[type="range"]`);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function fail(root, message) {
  root.replaceChildren(el("div", "aex-error", message));
}

// Our own container in Streamlit's element (a ShadowRoot, which also holds the <style> of plane.css).
function container(parentElement) {
  let root = Array.from(parentElement.children).find((node) => node.classList.contains("aex-root"));
  if (!root) {
    root = el("div", "aex-root");
    parentElement.append(root);
  }
  return root;
}

export default function (component) {
  const { data, parentElement } = component;
  const reg = registry();
  const root = container(parentElement);
  let payload;
  try {
    payload = parsePayload(data);
  } catch (error) {
    if (root.__aexPlane) root.__aexPlane.destroy();
    root.__aexPlane = null;
    fail(root, `The latent plane could not read its data (${error.message}).`);
    return undefined;
  }
  const { header, buffers } = payload;
  const ticket = (root.__aexTicket = (root.__aexTicket || 0) + 1); // only the latest payload is shown
  const current = root.__aexPlane;
  if (current && current.canReload(header)) {
    Decoder.create(header.program, buffers.weights).then((decoder) => {
      if (ticket === root.__aexTicket && root.__aexPlane === current) current.reload(header, buffers, decoder);
    });
    return () => current.destroy();
  }
  if (current) current.destroy();
  root.__aexPlane = null;
  root.replaceChildren();
  let plane = null;
  Decoder.create(header.program, buffers.weights).then((decoder) => {
    if (ticket !== root.__aexTicket) return;
    plane = new Plane(root, header, buffers, decoder);
    root.__aexPlane = plane;
    reg.planes.set(header.id, plane);
    const pending = reg.pending.get(header.id);
    plane.update(pending || {});
  }).catch((error) => {
    fail(root, "This browser cannot run the in-browser decoder (it needs WebAssembly with SIMD): " +
      `use the sliders, which the server decodes. (${error.message})`);
  });
  return () => {
    root.__aexTicket += 1;
    if (plane) plane.destroy();
  };
}
