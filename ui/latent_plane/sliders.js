// The page's Streamlit sliders mirrored on the plane, as methods of Plane (plane.js), read from their DOM as they
// move, before their value reaches the server.
const FRAME_MS = 16;

const PlaneSliders = {
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
  },

  liveKeys() {
    const live = this.live;
    return [live.x.key, live.y.key, ...(live.terms || []).map((t) => t.key)];
  },

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
  },
};

function sliderInput(key) {
  return document.querySelector(`.st-key-${CSS.escape(key)} input[type="range"]`);
}
