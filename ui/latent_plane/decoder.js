// The in-browser decoder: the payload that payload.py packs, and the model's own decoder run by WebAssembly SIMD
// kernels (kernels.c), which __init__.py inlines here as base64.
const WASM_BASE64 = "__AEX_WASM_BASE64__";
const HEAP_START = 1 << 20; // bytes below this are the C stack's

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
  const types = { f32: Float32Array, f16: Uint16Array, u8: Uint8Array, i16: Int16Array };
  const buffers = {};
  for (const [name, spec] of Object.entries(header.buffers)) {
    const view = new types[spec.dtype](blob.buffer, spec.offset, spec.length);
    buffers[name] = spec.dtype === "f16" ? halfToFloat(view) : view;
  }
  return { header, buffers };
}

// float16 (a big decoder's live frames) widened to float32 by hand: Float16Array and DataView.getFloat16 are too
// new to count on. One table of all 65,536 values, built on first use, then one lookup per weight.
let HALF_TABLE = null;
function halfToFloat(bits) {
  if (!HALF_TABLE) {
    HALF_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exponent = (h >> 10) & 0x1f;
      const fraction = h & 0x3ff;
      HALF_TABLE[h] = exponent === 0 ? sign * fraction * 2 ** -24 // zero and subnormals
        : exponent === 31 ? (fraction ? NaN : sign * Infinity)
          : sign * (1024 + fraction) * 2 ** (exponent - 25); // (1 + fraction/1024) · 2^(exponent − 15)
    }
  }
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = HALF_TABLE[bits[i]];
  return out;
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
