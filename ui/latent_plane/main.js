// The latent plane: held-out codes coloured by class, and the decode of z under the pointer, computed here in the
// browser with the model's own decoder weights (WebAssembly SIMD kernels from kernels.c). Nothing goes to the
// server while the pointer moves. A click or an arrow key pins z and tells Python through the bridge component
// that lives in the page's fragment (bridge.js); Python's answer (the sliders' snapped z, overlays) comes back the
// same way. data: the payload that payload.py packs, sent once per model.

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
