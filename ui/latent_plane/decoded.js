// The picture beside the plane, as methods of Plane (plane.js): z at a point of the plane, decoded here, its
// readout, and the nearest held-out image.
const PlaneDecoded = {
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
    const labels = { pointer: "under the pointer", pinned: this.pinName(), start: "at the start" };
    const coords = this.plane.mode === "pca"
      ? `PC1 = ${format(x / this.plane.std[0])}σ, PC2 = ${format(y / this.plane.std[1])}σ`
      : `z = (${format(x)}, ${format(y)})`;
    this.readout.textContent = `${coords} · ${labels[what]}`;
    this.nearestText.textContent = `Nearest held-out image: #${index}${this.classOf(index)}, ` +
      `${distance.toFixed(2)} away in z`;
  },

  // Python may name the pin it set ("your image's code"); once the user moves the pin it is just "pinned".
  pinName() {
    const state = this.state || {};
    const same = state.pin && this.pin && state.pin[0] === this.pin[0] && state.pin[1] === this.pin[1];
    return same && state.pin_label ? state.pin_label : "pinned";
  },

  // ", class 7" for a held-out image with a label (its name when the payload has names), "" without one.
  classOf(index) {
    const names = this.h.label_names;
    const label = this.b.labels[index];
    return label >= 0 ? `, class ${names && names[label] !== undefined ? names[label] : label}` : "";
  },

  drawThumb(index, canvas = this.thumb) {
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
    canvas.getContext("2d").putImageData(data, 0, 0);
  },

  codeAt(x, y) {
    const { v1, v2 } = this.plane;
    for (let j = 0; j < this.latent; j++) this.z[j] = this.base[j] + x * v1[j] + y * v2[j];
    return this.z;
  },

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
  },
};

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

function format(v) {
  return (Math.abs(v) < 0.005 ? 0 : v).toFixed(2);
}
