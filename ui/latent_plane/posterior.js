// A VAE's posterior q(z|x) = N(μ(x), diag σ(x)²) on the plane, as methods of Plane (plane.js): each held-out code's
// 1-σ ellipse (the payload's, computed in Python: models/analysis/posterior.py), and, for the held-out image the
// pin sits on, a handful of decodes of z = μ + σ ⊙ ε with ε drawn here (Box–Muller from a seeded PRNG) beside the
// decode of μ, with the reparameterisation's numbers. A plain autoencoder's pinned image says its code is a point.
const DRAWS = 6;
const TILE = { min: 34, max: 80, gap: 5 };

const PlanePosterior = {
  spreadShown() {
    return !!(this.state && this.state.spread) && this.b.ellipses.length === 3 * this.n;
  },

  // Python's answers tell which held-out image the pin sits on; a click on a dot says so at once.
  posteriorShown() {
    const code = this.pinnedCode;
    return !!(this.state && this.state.posterior) && Number.isInteger(code) && code >= 0 && code < this.n &&
      this.b.thumbs.length > 0;
  },

  // The switch for the ellipses, in the plot's top right corner of a VAE's plane whose page offers it (Python's view
  // says spread: true or false), over the plane rather than under it, so the plane keeps its size: it redraws here
  // at once and tells Python, which keeps it in the URL.
  updateSpreadSwitch() {
    const offered = this.b.ellipses.length === 3 * this.n && typeof (this.state || {}).spread === "boolean";
    if (!offered) {
      if (this.spreadLabel) this.spreadLabel.remove();
      return;
    }
    if (!this.spreadLabel) {
      this.spreadLabel = el("label", "aex-spread");
      this.spreadBox = el("input");
      this.spreadBox.type = "checkbox";
      this.spreadBox.addEventListener("change", () => {
        this.state = { ...this.state, spread: this.spreadBox.checked };
        this.drawStatic();
        this.request(true);
        const send = registry().bridges.get(this.h.id);
        if (send) send("spread", this.spreadBox.checked);
      });
      this.spreadLabel.title = "Each held-out image's posterior q(z|x) = N(μ, diag σ²) as its 1-σ ellipse " +
        "(projected onto the plane for a wider code): a VAE maps an image to a cloud, a plain autoencoder to a point.";
      this.spreadLabel.append(this.spreadBox, document.createTextNode("Posterior spread (1σ)"));
    }
    this.spreadBox.checked = this.state.spread;
    this.spreadLabel.style.top = `${MARGIN.top + 4}px`;
    this.spreadLabel.style.right = `${MARGIN.right + 4}px`;
    if (this.spreadLabel.parentNode !== this.left) this.left.append(this.spreadLabel);
  },

  // Each code's 1-σ ellipse, [major, minor, angle] in plane units: drawn in pixels through the plane's scale, so a
  // rotated ellipse stays right on a plane whose x and y units differ on screen.
  drawEllipses(g) {
    const [x0, x1, y0, y1] = this.plane.extent;
    const sx = (this.size - MARGIN.left - MARGIN.right) / (x1 - x0);
    const sy = (this.size - MARGIN.top - MARGIN.bottom) / (y1 - y0);
    const e = this.b.ellipses;
    let drawn = 0;
    g.lineWidth = 1;
    for (let i = 0; i < this.n; i++) {
      const [a, b, angle] = [e[3 * i], e[3 * i + 1], e[3 * i + 2]];
      if (!(a >= 0 && b >= 0 && Number.isFinite(angle))) continue; // a diverged σ has no ellipse to draw
      const [px, py] = this.toPixel(this.b.xy[2 * i], this.b.xy[2 * i + 1]);
      g.save();
      g.translate(px, py);
      g.scale(sx, -sy); // plane units, y up
      g.rotate(angle);
      g.beginPath();
      g.ellipse(0, 0, a, b, 0, 0, 2 * Math.PI);
      g.restore(); // the path keeps its shape; the line is drawn in pixels
      const colour = this.classColour(this.b.labels[i]);
      g.globalAlpha = 0.22;
      g.fillStyle = colour;
      g.fill();
      g.globalAlpha = 0.85;
      g.strokeStyle = colour;
      g.stroke();
      drawn += 1;
    }
    g.globalAlpha = 1;
    this.stats.ellipses = drawn;
  },

  // The panel beside the decode, built on first use: one row of the image x, the decode of μ and the draws, then
  // the formula with this image's numbers. It takes the place of the nearest image (x itself) and the hint.
  posteriorPanel() {
    if (this.panel) return this.panel;
    const panel = (this.panel = el("div", "aex-posterior"));
    this.panelHead = el("div", "aex-posterior-head");
    this.samples = el("div", "aex-samples");
    this.sampleCanvases = [];
    for (let k = -1; k <= DRAWS; k++) { // -1: the image x, 0: the decode of μ, then the draws
      const c = el("canvas", ["aex-sample aex-sample-x", "aex-sample aex-sample-mean"][k + 1] || "aex-sample");
      c.width = this.image.width;
      c.height = this.image.height;
      if (k >= 0) c.addEventListener("pointerenter", () => this.showDraw(k));
      this.sampleCanvases.push(c);
      this.samples.append(c);
    }
    this.formula = el("div", "aex-formula");
    const line = el("div", "aex-eps-line");
    this.epsLine = el("div", "aex-eps");
    this.drawButton = el("button", "aex-new-draw", "New draw");
    this.drawButton.type = "button";
    this.drawButton.addEventListener("click", () => { this.draw += 1; this.updatePosterior(true); });
    line.append(this.epsLine, this.drawButton);
    panel.append(this.panelHead, this.samples, this.formula, line);
    this.thumb.parentNode.before(panel);
    this.replaced = [this.thumb.parentNode, this.hint];
    return panel;
  },

  // What the decode beside the plane gives up so that the panel ends where the plane's legend does.
  posteriorReserve(side) {
    if (!this.posteriorShown()) return 0;
    const panel = this.posteriorPanel();
    const cells = DRAWS + 2;
    const tile = Math.max(TILE.min, Math.min(TILE.max, Math.floor((side - 4 - (cells - 1) * TILE.gap) / cells)));
    for (const c of this.sampleCanvases) c.style.width = c.style.height = `${tile}px`;
    panel.style.display = "";
    return panel.offsetHeight + this.readout.offsetHeight + 16 - this.legendNode.offsetHeight;
  },

  // Redraws the panel when the pinned image or the draw changed (called on every frame, so it checks first).
  updatePosterior(force = false) {
    const code = this.posteriorShown() ? this.pinnedCode : null;
    if (!force && code === this.panelCode && this.draw === this.panelDraw) return;
    if (code !== this.panelCode) this.draw = 1; // each image opens on its first draw, so a link shows the same
    const was = this.panelCode;
    this.panelCode = code;
    this.panelDraw = this.draw;
    if (code === null) {
      if (this.panel) this.panel.style.display = "none";
      for (const node of this.replaced || []) node.style.display = "";
      this.stats.posterior = null;
      if (was !== null && was !== undefined) this.relayout();
      return;
    }
    this.posteriorPanel().style.display = "";
    for (const node of this.replaced) node.style.display = "none";
    this.drawThumb(code, this.sampleCanvases[0]);
    if (this.b.sigma.length === this.n * this.latent) this.drawSamples(code);
    else this.pointNotCloud(code);
    if (was === null || was === undefined) this.relayout();
  },

  relayout() {
    this.size = 0; // the decode beside the plane gives room to the panel, or takes it back
    this.resize();
  },

  drawSamples(index) {
    const d = this.latent;
    const mu = this.b.codes.subarray(index * d, (index + 1) * d);
    const sigma = this.b.sigma.subarray(index * d, (index + 1) * d);
    const eps = this.epsilon(index, this.draw);
    const draws = [];
    this.paintSample(1, mu);
    for (let k = 0; k < DRAWS; k++) {
      const e = eps.subarray(k * d, (k + 1) * d);
      const z = new Float32Array(d);
      for (let j = 0; j < d; j++) z[j] = mu[j] + sigma[j] * e[j]; // the reparameterisation trick
      this.paintSample(k + 2, z);
      draws.push({ eps: Array.from(e), z: Array.from(z) });
    }
    for (const c of this.sampleCanvases.slice(1)) c.style.display = "";
    this.drawButton.style.display = "";
    this.panelHead.textContent = `${this.imageName(index)}: x, the decode of μ (outlined), ${DRAWS} draws ` +
      `z ~ q(z|x)`;
    this.formula.textContent = d === 2
      ? `z = μ + σ ⊙ ε = (${vector(mu)}) + (${vector(sigma)}) ⊙ ε, ε ~ N(0, I)`
      : `z = μ + σ ⊙ ε in ${d}-D, ε ~ N(0, I): μ = (${vector(mu)}), σ = (${vector(sigma)})`;
    this.posteriorDraws = draws;
    this.showDraw(1);
    this.stats.posterior = { index, draw: this.draw, mu: Array.from(mu), sigma: Array.from(sigma), draws };
    this.panel.dataset.draw = String(this.draw);
  },

  // The ε of one image's draw: DRAWS × latent values from N(0, 1), the same in every browser.
  epsilon(index, draw) {
    return standardNormals(seedOf(index, draw), DRAWS * this.latent);
  },

  showDraw(k) {
    if (!this.posteriorDraws) return;
    if (k === 0) {
      this.epsLine.textContent = "Outlined: the decode of μ itself, ε = 0";
      return;
    }
    const { eps, z } = this.posteriorDraws[k - 1];
    this.epsLine.textContent = `Draw ${k} of set ${this.draw}: ε = (${vector(eps)}) → z = (${vector(z)})`;
  },

  pointNotCloud(index) {
    const mu = this.b.codes.subarray(index * this.latent, (index + 1) * this.latent);
    for (const c of this.sampleCanvases.slice(1)) c.style.display = "none";
    this.drawButton.style.display = "none";
    this.panelHead.textContent = `${this.imageName(index)}: a point, not a cloud`;
    this.formula.textContent = `A plain autoencoder has no σ: it maps this image to z = (${vector(mu)}), the same ` +
      "every time, so there is nothing to sample.";
    this.epsLine.textContent = "";
    this.posteriorDraws = null;
    this.stats.posterior = { index, draw: 0, mu: Array.from(mu), sigma: null, draws: [] };
  },

  paintSample(k, z) {
    const image = this.decoder.decode(z);
    const pixels = this.samplePixels || (this.samplePixels = new ImageData(this.image.width, this.image.height));
    toRGBA(image, this.image.c, pixels.data);
    this.sampleCanvases[k].getContext("2d").putImageData(pixels, 0, 0);
  },

  imageName(index) {
    return `Held-out #${index}${this.classOf(index)}`;
  },
};

// A seeded PRNG (mulberry32): the same image and draw number give the same ε in every browser.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedOf(index, draw) {
  return (Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(draw, 0x85ebca6b)) >>> 0;
}

// count draws from N(0, 1) by Box–Muller: two uniforms give two independent normals.
function standardNormals(seed, count) {
  const random = mulberry32(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const u1 = 1 - random(); // in (0, 1]: log(0) never happens
    const u2 = random();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

// The first components of a vector, "1.20, −0.40, 0.054" (three and "…" for a wider code): two decimals, or two
// significant digits under 0.1, where a VAE's σ often lies.
function vector(values) {
  const number = (v) => (v !== 0 && Math.abs(v) < 0.1 ? v.toPrecision(2) : v.toFixed(2)).replace("-", "−");
  const shown = Array.from(values).slice(0, values.length > 2 ? 3 : 2).map(number);
  return shown.join(", ") + (values.length > 3 ? ", …" : "");
}
