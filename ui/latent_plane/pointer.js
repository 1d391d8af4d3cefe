// Pointer, click and arrow keys, as methods of Plane (plane.js): hovering decodes; a click (snapped to a nearby
// held-out code) or an arrow key pins z and tells Python through the bridge (bridge.js).
const SNAP_PX = 7; // a click this close to a held-out code pins that code exactly

const PlanePointer = {
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
      this.pinnedCode = near; // its posterior shows at once (posterior.js); Python's answer confirms it
      c.focus({ preventScroll: true });
      this.pinAt(x, y);
      // Stacked (a phone, a narrow column), the decode and its readout sit under the plane: a tap low on the plane
      // would otherwise leave them below the fold. "nearest" does not scroll when they are already in view.
      if (this.box.classList.contains("aex-stacked")) this.readout.scrollIntoView({ block: "nearest" });
    };
    this.onKey = (e) => {
      const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
      if (!moves[e.key]) return;
      e.preventDefault();
      const [dx, dy] = moves[e.key];
      const scale = e.shiftKey ? 10 : 1;
      const [x, y] = this.pin || this.plane.start;
      this.pinnedCode = null; // off the image's code, until Python's answer says it landed on another
      this.pinAt(x + dx * scale * this.plane.step[0], y + dy * scale * this.plane.step[1]);
    };
    c.addEventListener("pointermove", this.onMove);
    c.addEventListener("pointerleave", this.onLeave);
    c.addEventListener("click", this.onClick);
    c.addEventListener("keydown", this.onKey);
    // The room under the plane depends on how far down it starts: the page above can still grow after the plane
    // mounts (pictures, formulas and captions arriving late on a slow machine or server), which moves it down
    // without changing its width. The page's main block grows with it, and with anything else on the page (a live
    // run redraws twice a second): only a move of the plane itself re-fits it.
    this.observer = new ResizeObserver((entries) => {
      if (entries.some((e) => e.target === this.root) || Math.abs(this.pageTop() - this.fitTop) > 0.5) this.resize();
    });
    this.observer.observe(this.root);
    const page = document.querySelector('[data-testid="stMainBlockContainer"]');
    if (page) this.observer.observe(page);
    // The screen's height sets the plane's size too, and the page above may settle (fonts) after the plane mounts.
    this.onWindow = () => this.resize();
    window.addEventListener("resize", this.onWindow);
    this.settle = setTimeout(this.onWindow, 500);
  },

  nearestOnScreen(px, py) {
    let best = null;
    let bestD = SNAP_PX * SNAP_PX;
    for (let i = 0; i < this.n; i++) {
      const [qx, qy] = this.toPixel(this.b.xy[2 * i], this.b.xy[2 * i + 1]);
      const d = (qx - px) ** 2 + (qy - py) ** 2;
      if (d <= bestD) { bestD = d; best = i; }
    }
    return best;
  },

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
  },
};
