// The bridge between a latent plane and Python. It lives in the page's fragment, so a click on the plane reruns
// only that fragment. data.view: JSON of Python's view {plane, seq, pin, base, overlays, extent, live}, which
// the plane draws; the plane calls back through setTriggerValue("pin", {x, y, seq}) when the user pins z.
export default function (component) {
  const { setTriggerValue } = component;
  const data = JSON.parse(component.data.view);
  if (!window.__aex) {
    window.__aex = { module: null, planes: new Map(), bridges: new Map(), pending: new Map(), stats: {} };
  }
  const reg = window.__aex;
  reg.bridges.set(data.plane, setTriggerValue);
  reg.pending.set(data.plane, data);
  const plane = reg.planes.get(data.plane);
  if (plane) plane.update(data);
  return () => {
    if (reg.bridges.get(data.plane) === setTriggerValue) reg.bridges.delete(data.plane);
  };
}
