// The Plane: one latent plane's DOM and state, Python's view applied to it, and a new payload swapped in place.
// Its drawing, decoding, pointer and slider methods come from the files that __init__.py joins before this one.

// State shared by every plane and bridge of the page (bridge.js makes the same object if it runs first).
function registry() {
  if (!window.__aex) {
    window.__aex = { module: null, planes: new Map(), bridges: new Map(), pending: new Map(), stats: {} };
  }
  return window.__aex;
}

const HINT = "Point to decode · click to pin z · arrow keys move the pin (Shift: ×10)";

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
    const hint = (this.hint = el("div", "aex-hint", HINT));
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
    if (!(this.h.class_colours || []).length) {
      // More classes than colours can tell apart (40 people): one colour, and the legend says it means nothing.
      legend.textContent = `All ${present.size} classes (${names[0]} … ${names[names.length - 1]}) in one colour, ` +
        "too many to colour apart: colour means nothing here.";
      return legend;
    }
    names.forEach((name, i) => {
      if (!present.has(i)) return;
      const item = el("span", "aex-legend-item");
      const dot = el("span", "aex-dot");
      dot.style.background = this.classColour(i);
      item.append(dot, document.createTextNode(name));
      legend.append(item);
    });
    return legend;
  }

  destroy() {
    const c = this.canvas;
    c.removeEventListener("pointermove", this.onMove);
    c.removeEventListener("pointerleave", this.onLeave);
    c.removeEventListener("click", this.onClick);
    c.removeEventListener("keydown", this.onKey);
    this.observer.disconnect();
    window.removeEventListener("resize", this.onWindow);
    clearTimeout(this.settle);
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
      this.pinnedCode = Number.isInteger(state.code) ? state.code : null; // the held-out image the pin sits on
      this.sliderReading = null; // the pin moved without the sliders: their next reading must be drawn
    }
    this.overlays = state.overlays || [];
    this.hint.textContent = state.hint || HINT; // a page's own plane says what its click does
    this.updateSpreadSwitch();
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
}

// Each file's methods, by concern, on the one class: they share its state (`this`) as they did in one file.
Object.assign(Plane.prototype, PlaneDrawing, PlaneDecoded, PlanePointer, PlaneSliders, PlanePosterior);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}
