/* The two loops of the in-browser decoder, compiled to WebAssembly with 128-bit SIMD by build_kernels.sh.
 *
 * Everything is float32 in the module's own memory; JavaScript owns the layout and passes byte offsets.
 *   linear:         y[j] = b[j] + Σ_i W[j, i] x[i]           W row-major (out, in), as torch stores it
 *   conv_transpose: ConvTranspose2d on H×W×C tensors, weights (out_c, kh, kw, in_c), gathered per output pixel
 * so both reduce to contiguous dot products, four lanes at a time. No libc: activations are done in JS.
 */
#include <wasm_simd128.h>

static inline float dot(const float *a, const float *b, int n) {
  v128_t acc0 = wasm_f32x4_splat(0.f), acc1 = wasm_f32x4_splat(0.f);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
    acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
  }
  for (; i + 4 <= n; i += 4)
    acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  acc0 = wasm_f32x4_add(acc0, acc1);
  float s = (wasm_f32x4_extract_lane(acc0, 0) + wasm_f32x4_extract_lane(acc0, 1)) +
            (wasm_f32x4_extract_lane(acc0, 2) + wasm_f32x4_extract_lane(acc0, 3));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

__attribute__((export_name("linear")))
void linear(const float *x, int n_in, const float *w, const float *b, int n_out, float *y) {
  for (int j = 0; j < n_out; j++) y[j] = b[j] + dot(w + (long)j * n_in, x, n_in);
}

/* Output pixel (oy, ox) receives input pixel (iy, ix) through kernel tap (ky, kx) when oy = iy*sh - ph + ky. */
__attribute__((export_name("conv_transpose")))
void conv_transpose(const float *x, int h_in, int w_in, int c_in, const float *w, const float *b, int c_out,
                    int kh, int kw, int sh, int sw, int ph, int pw, float *y, int h_out, int w_out) {
  const long per_out = (long)kh * kw * c_in;
  for (int oy = 0; oy < h_out; oy++) {
    for (int ox = 0; ox < w_out; ox++) {
      float *o = y + ((long)oy * w_out + ox) * c_out;
      for (int co = 0; co < c_out; co++) o[co] = b[co];
      for (int ky = 0; ky < kh; ky++) {
        int ty = oy + ph - ky;
        if (ty < 0 || ty % sh) continue;
        int iy = ty / sh;
        if (iy >= h_in) continue;
        for (int kx = 0; kx < kw; kx++) {
          int tx = ox + pw - kx;
          if (tx < 0 || tx % sw) continue;
          int ix = tx / sw;
          if (ix >= w_in) continue;
          const float *in = x + ((long)iy * w_in + ix) * c_in;
          const float *tap = w + ((long)ky * kw + kx) * c_in;
          for (int co = 0; co < c_out; co++) o[co] += dot(in, tap + co * per_out, c_in);
        }
      }
    }
  }
}
