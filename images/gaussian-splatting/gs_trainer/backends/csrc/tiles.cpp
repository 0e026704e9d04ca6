// Compiled CPU tile rasterizer: front-to-back compositing of depth-sorted (tile, Gaussian)
// pairs, forward and backward, one tile per OpenMP task.
//
// Same maths as gs_trainer/backends/torch_tiles.py (gsplat's classic mode): per pixel,
// alpha = min(0.99, o exp(-sigma)) with sigma = (a dx^2 + c dy^2) / 2 + b dx dy, alphas not
// above 1/255 skipped, and a pixel stops before the Gaussian that would take its
// transmittance under 1e-4. What the tensor formulation cannot do and this does:
//  * per-pixel early termination (a saturated pixel costs nothing more; a tile whose pixels
//    are all saturated stops);
//  * each Gaussian visits only the pixels of the tile inside its alpha >= 1/255 box
//    (``ext``: the exact per-axis bound sqrt(2 ln(255 o) Sigma_ii)), no padding of tile lists;
//  * no [pixels x Gaussians] intermediate tensors.
// The backward walks each tile's list back to front, recovering the transmittance before each
// Gaussian by division (as gsplat does), and writes one gradient row per (tile, Gaussian)
// pair: each pair belongs to one tile, so threads never write to the same row and the result
// does not depend on the thread count or scheduling (the per-Gaussian sums are made in Python
// by index_add_, in a fixed order).

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <vector>

namespace {

constexpr int TILE = 16;
constexpr int PX = TILE * TILE;
constexpr double ALPHA_MIN = 1.0 / 255.0;
constexpr double ALPHA_MAX = 0.99;
constexpr double T_MIN = 1e-4;

struct Tile {
  int x0, y0, w, h;
};

inline Tile tile_rect(int64_t t, int tiles_x, int width, int height) {
  Tile r;
  r.x0 = static_cast<int>(t % tiles_x) * TILE;
  r.y0 = static_cast<int>(t / tiles_x) * TILE;
  r.w = std::min(TILE, width - r.x0);
  r.h = std::min(TILE, height - r.y0);
  return r;
}

// The pixels of tile ``r`` that Gaussian (mx, my) with extents (ex, ey) can reach, as an
// inclusive range of pixel columns/rows; empty when lo > hi. Pixel centres are at +0.5.
template <typename T>
inline void reach(const Tile& r, T mx, T my, T ex, T ey, int& xlo, int& xhi, int& ylo, int& yhi) {
  const T margin = T(1e-3);  // the per-pixel alpha test decides; the box only saves work
  xlo = std::max(r.x0, static_cast<int>(std::ceil(mx - ex - T(0.5) - margin)));
  xhi = std::min(r.x0 + r.w - 1, static_cast<int>(std::floor(mx + ex - T(0.5) + margin)));
  ylo = std::max(r.y0, static_cast<int>(std::ceil(my - ey - T(0.5) - margin)));
  yhi = std::min(r.y0 + r.h - 1, static_cast<int>(std::floor(my + ey - T(0.5) + margin)));
}

// exp for the alpha test, written so that the per-row pixel loops below vectorise (std::exp
// would stay a scalar call): Cody-Waite range reduction and a degree-6 polynomial, within
// 2 ulp of std::exp on [-87, 0.5]. Arguments below -87 (alpha far under 1/255) give ~0.
inline float exp_vec(float x) {
  x = std::max(-87.0f, std::min(x, 0.5f));
  // round to nearest by the 1.5 * 2^23 trick (vectorises; std::nearbyint needs SSE4.1)
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r -= n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits;
  std::memcpy(&bits, &p, 4);
  bits += static_cast<int32_t>(n) * (1 << 23);  // p * 2^n
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}
inline double exp_vec(double x) { return std::exp(x); }  // float64 (tests): exact libm

void check_inputs(const at::Tensor& means2d, const at::Tensor& conics, const at::Tensor& opac,
                  const at::Tensor& colors, const at::Tensor& ext, const at::Tensor& start,
                  const at::Tensor& count, const at::Tensor& gauss) {
  const auto n = means2d.size(0);
  TORCH_CHECK(means2d.dim() == 2 && means2d.size(1) == 2, "means2d must be [N, 2]");
  TORCH_CHECK(conics.sizes() == at::IntArrayRef({n, 3}), "conics must be [N, 3]");
  TORCH_CHECK(opac.dim() == 1 && opac.size(0) == n, "opacities must be [N]");
  TORCH_CHECK(colors.sizes() == at::IntArrayRef({n, 3}), "colors must be [N, 3]");
  TORCH_CHECK(ext.sizes() == at::IntArrayRef({n, 2}), "ext must be [N, 2]");
  for (const auto* t : {&means2d, &conics, &opac, &colors, &ext}) {
    TORCH_CHECK(t->is_contiguous() && t->device().is_cpu(), "inputs must be contiguous CPU tensors");
    TORCH_CHECK(t->scalar_type() == means2d.scalar_type(), "inputs must share one floating dtype");
  }
  for (const auto* t : {&start, &count, &gauss}) {
    TORCH_CHECK(t->is_contiguous() && t->scalar_type() == at::kLong, "tile lists must be contiguous int64");
  }
  TORCH_CHECK(start.sizes() == count.sizes(), "start and count must have one entry per tile");
}

template <typename T>
void forward_impl(const at::Tensor& means2d, const at::Tensor& conics, const at::Tensor& opac,
                  const at::Tensor& colors, const at::Tensor& ext, const at::Tensor& start,
                  const at::Tensor& count, const at::Tensor& gauss, int64_t tiles_x, int64_t width,
                  int64_t height, at::Tensor& color_out, at::Tensor& t_out, at::Tensor& last_out) {
  const T* m2 = means2d.data_ptr<T>();
  const T* con = conics.data_ptr<T>();
  const T* op = opac.data_ptr<T>();
  const T* col = colors.data_ptr<T>();
  const T* ex = ext.data_ptr<T>();
  const int64_t* st = start.data_ptr<int64_t>();
  const int64_t* ct = count.data_ptr<int64_t>();
  const int64_t* gs = gauss.data_ptr<int64_t>();
  T* out_c = color_out.data_ptr<T>();
  T* out_t = t_out.data_ptr<T>();
  int32_t* out_last = last_out.data_ptr<int32_t>();
  const int64_t n_tiles = start.size(0);
  const int W = static_cast<int>(width), H = static_cast<int>(height), TX = static_cast<int>(tiles_x);

#pragma omp parallel for schedule(dynamic, 1) num_threads(at::get_num_threads())
  for (int64_t t = 0; t < n_tiles; ++t) {
    const Tile r = tile_rect(t, TX, W, H);
    // per pixel of the tile, structure of arrays so the row loops vectorise
    T trans[PX], acc_r[PX], acc_g[PX], acc_b[PX], done[PX];
    int32_t last[PX];
    std::fill(trans, trans + PX, T(1));
    std::fill(acc_r, acc_r + PX, T(0));
    std::fill(acc_g, acc_g + PX, T(0));
    std::fill(acc_b, acc_b + PX, T(0));
    std::fill(done, done + PX, T(0));
    std::fill(last, last + PX, 0);
    int active = r.w * r.h;
    const int64_t s = st[t];
    for (int64_t k = 0; k < ct[t] && active > 0; ++k) {
      const int64_t g = gs[s + k];
      const T mx = m2[2 * g], my = m2[2 * g + 1];
      const T a = con[3 * g], b = con[3 * g + 1], c = con[3 * g + 2], o = op[g];
      const T cr = col[3 * g], cg = col[3 * g + 1], cb = col[3 * g + 2];
      const int32_t kk = static_cast<int32_t>(k + 1);
      int xlo, xhi, ylo, yhi;
      reach(r, mx, my, ex[2 * g], ex[2 * g + 1], xlo, xhi, ylo, yhi);
      for (int y = ylo; y <= yhi; ++y) {
        const T dy = T(y) + T(0.5) - my;
        const int row = (y - r.y0) * TILE - r.x0;
        int stopped = 0;
        // a pixel that is done, or where this alpha is skipped, keeps its state; the one
        // whose transmittance would fall under T_MIN becomes done
        for (int x = xlo; x <= xhi; ++x) {
          const int p = row + x;
          const T dx = T(x) + T(0.5) - mx;
          const T sigma = T(0.5) * (a * dx * dx + c * dy * dy) + b * dx * dy;
          const T raw = o * exp_vec(-sigma);
          const T alpha = std::min(raw, T(ALPHA_MAX));
          const T tr = trans[p];
          const T next = tr * (T(1) - alpha);
          // masks as 0/1 numbers, not branches, so the loop vectorises; with u in {0, 1},
          // u * next + (1 - u) * tr is exactly next or tr
          const int ok = (raw > T(ALPHA_MIN)) & (done[p] == T(0));
          const int stop = ok & (next < T(T_MIN));
          const int use = ok & (stop ^ 1);
          const T u = T(use);
          const T w = u * alpha * tr;
          acc_r[p] += w * cr;
          acc_g[p] += w * cg;
          acc_b[p] += w * cb;
          trans[p] = u * next + (T(1) - u) * tr;
          last[p] += use * (kk - last[p]);
          done[p] += T(stop);
          stopped += stop;
        }
        active -= stopped;
      }
    }
    for (int y = 0; y < r.h; ++y) {
      for (int x = 0; x < r.w; ++x) {
        const int p = y * TILE + x;
        const int64_t q = static_cast<int64_t>(r.y0 + y) * W + (r.x0 + x);
        out_c[3 * q] = acc_r[p];
        out_c[3 * q + 1] = acc_g[p];
        out_c[3 * q + 2] = acc_b[p];
        out_t[q] = trans[p];
        out_last[q] = last[p];
      }
    }
  }
}

// Returns (colour without background [H, W, 3], final transmittance [H, W], per-pixel end of
// the composited part of its tile's list [H, W] int32).
std::tuple<at::Tensor, at::Tensor, at::Tensor> forward(const at::Tensor& means2d, const at::Tensor& conics,
                                                       const at::Tensor& opac, const at::Tensor& colors,
                                                       const at::Tensor& ext, const at::Tensor& start,
                                                       const at::Tensor& count, const at::Tensor& gauss,
                                                       int64_t tiles_x, int64_t width, int64_t height) {
  check_inputs(means2d, conics, opac, colors, ext, start, count, gauss);
  TORCH_CHECK(start.size(0) == tiles_x * ((height + TILE - 1) / TILE), "one list per 16x16 tile expected");
  auto color_out = at::empty({height, width, 3}, means2d.options());
  auto t_out = at::empty({height, width}, means2d.options());
  auto last_out = at::empty({height, width}, means2d.options().dtype(at::kInt));
  AT_DISPATCH_FLOATING_TYPES(means2d.scalar_type(), "gs_tiles_forward", [&] {
    forward_impl<scalar_t>(means2d, conics, opac, colors, ext, start, count, gauss, tiles_x, width, height,
                           color_out, t_out, last_out);
  });
  return {color_out, t_out, last_out};
}

// ABS: also the sum over pixels of |per-pixel d loss / d means2d| (gsplat's absgrad), columns 9-10.
template <typename T, bool ABS>
void backward_impl(const at::Tensor& means2d, const at::Tensor& conics, const at::Tensor& opac,
                   const at::Tensor& colors, const at::Tensor& ext, const at::Tensor& start,
                   const at::Tensor& count, const at::Tensor& gauss, int64_t tiles_x, int64_t width,
                   int64_t height, const at::Tensor& background, const at::Tensor& t_final,
                   const at::Tensor& last_in, const at::Tensor& g_img, const at::Tensor& g_alpha,
                   at::Tensor& g_pair) {
  const T* m2 = means2d.data_ptr<T>();
  const T* con = conics.data_ptr<T>();
  const T* op = opac.data_ptr<T>();
  const T* col = colors.data_ptr<T>();
  const T* ex = ext.data_ptr<T>();
  const T* bg = background.data_ptr<T>();
  const T* tf = t_final.data_ptr<T>();
  const int32_t* lst = last_in.data_ptr<int32_t>();
  const T* gi = g_img.data_ptr<T>();
  const T* ga = g_alpha.data_ptr<T>();
  const int64_t* st = start.data_ptr<int64_t>();
  const int64_t* ct = count.data_ptr<int64_t>();
  const int64_t* gs = gauss.data_ptr<int64_t>();
  T* gp = g_pair.data_ptr<T>();
  constexpr int COLS = ABS ? 11 : 9;
  const int64_t n_tiles = start.size(0);
  const int W = static_cast<int>(width), H = static_cast<int>(height), TX = static_cast<int>(tiles_x);

#pragma omp parallel for schedule(dynamic, 1) num_threads(at::get_num_threads())
  for (int64_t t = 0; t < n_tiles; ++t) {
    const Tile r = tile_rect(t, TX, W, H);
    T trans[PX], behind[PX], g_r[PX], g_g[PX], g_b[PX], g_end[PX];
    int32_t last[PX];
    std::fill(last, last + PX, 0);
    int32_t kmax = 0;
    for (int y = 0; y < r.h; ++y) {
      for (int x = 0; x < r.w; ++x) {
        const int p = y * TILE + x;
        const int64_t q = static_cast<int64_t>(r.y0 + y) * W + (r.x0 + x);
        trans[p] = tf[q];
        behind[p] = T(0);  // sum over the composited Gaussians behind: g . c_j alpha_j T_j
        g_r[p] = gi[3 * q];
        g_g[p] = gi[3 * q + 1];
        g_b[p] = gi[3 * q + 2];
        // T_final dL/dT_final: the background shows through T_final, the alpha output is 1 - T_final
        g_end[p] = tf[q] * (gi[3 * q] * bg[0] + gi[3 * q + 1] * bg[1] + gi[3 * q + 2] * bg[2] - ga[q]);
        last[p] = lst[q];
        kmax = std::max(kmax, last[p]);
      }
    }
    const int64_t s = st[t];
    for (int64_t k = kmax - 1; k >= 0; --k) {
      const int64_t g = gs[s + k];
      const T mx = m2[2 * g], my = m2[2 * g + 1];
      const T a = con[3 * g], b = con[3 * g + 1], c = con[3 * g + 2], o = op[g];
      const T cr = col[3 * g], cg = col[3 * g + 1], cb = col[3 * g + 2];
      const int32_t k32 = static_cast<int32_t>(k);
      // per tile column, summed after the rows (vectorises without reassociating a reduction)
      T acc[COLS][TILE] = {};
      int xlo, xhi, ylo, yhi;
      reach(r, mx, my, ex[2 * g], ex[2 * g + 1], xlo, xhi, ylo, yhi);
      for (int y = ylo; y <= yhi; ++y) {
        const T dy = T(y) + T(0.5) - my;
        const int row = (y - r.y0) * TILE - r.x0;
        for (int x = xlo; x <= xhi; ++x) {
          const int p = row + x;
          const int j = x - r.x0;
          const T dx = T(x) + T(0.5) - mx;
          const T sigma = T(0.5) * (a * dx * dx + c * dy * dy) + b * dx * dy;
          const T e = exp_vec(-sigma);
          const T raw = o * e;
          const T alpha = std::min(raw, T(ALPHA_MAX));
          const int use = (raw > T(ALPHA_MIN)) & (k32 < last[p]);  // 0/1, no branch (vectorises)
          const T u = T(use);
          const T one_minus = T(1) - alpha;
          const T t_before = trans[p] / (u * one_minus + (T(1) - u));  // unchanged where not used
          const T w = u * alpha * t_before;
          const T g0 = g_r[p], g1 = g_g[p], g2 = g_b[p];
          const T gc = g0 * cr + g1 * cg + g2 * cb;
          const T d_alpha = t_before * gc - (behind[p] + g_end[p]) / one_minus;
          behind[p] += gc * w;
          trans[p] = t_before;
          // no gradient through the clamp at 0.99
          const T d_raw = T(use & (raw < T(ALPHA_MAX))) * d_alpha;
          const T d_sigma = -d_raw * raw;
          const T d_mx = -d_sigma * (a * dx + b * dy);  // d sigma / d mx = -(a dx + b dy)
          const T d_my = -d_sigma * (b * dx + c * dy);
          acc[0][j] += d_mx;
          acc[1][j] += d_my;
          if constexpr (ABS) {
            acc[9][j] += std::abs(d_mx);
            acc[10][j] += std::abs(d_my);
          }
          acc[2][j] += d_sigma * T(0.5) * dx * dx;
          acc[3][j] += d_sigma * dx * dy;
          acc[4][j] += d_sigma * T(0.5) * dy * dy;
          acc[5][j] += d_raw * e;
          acc[6][j] += w * g0;
          acc[7][j] += w * g1;
          acc[8][j] += w * g2;
        }
      }
      T* out = gp + COLS * (s + k);
      for (int i = 0; i < COLS; ++i) {
        T sum = T(0);
        for (int j = 0; j < TILE; ++j) sum += acc[i][j];
        out[i] = sum;
      }
    }
  }
}

// Gradient of each (tile, Gaussian) pair: [M, 9] = d means2d (2), d conic (3), d opacity,
// d colour (3), and with ``absgrad`` [M, 11]: the sums of |d means2d| per pixel (2) after them.
// Rows past a tile's last composited Gaussian are 0.
at::Tensor backward(const at::Tensor& means2d, const at::Tensor& conics, const at::Tensor& opac,
                    const at::Tensor& colors, const at::Tensor& ext, const at::Tensor& start,
                    const at::Tensor& count, const at::Tensor& gauss, int64_t tiles_x, int64_t width,
                    int64_t height, const at::Tensor& background, const at::Tensor& t_final,
                    const at::Tensor& last, const at::Tensor& g_img, const at::Tensor& g_alpha, bool absgrad) {
  check_inputs(means2d, conics, opac, colors, ext, start, count, gauss);
  TORCH_CHECK(t_final.sizes() == at::IntArrayRef({height, width}) && t_final.is_contiguous(), "t_final must be [H, W]");
  TORCH_CHECK(last.sizes() == at::IntArrayRef({height, width}) && last.scalar_type() == at::kInt, "last must be [H, W] int32");
  TORCH_CHECK(g_img.sizes() == at::IntArrayRef({height, width, 3}) && g_img.is_contiguous(), "g_img must be [H, W, 3]");
  TORCH_CHECK(g_alpha.sizes() == at::IntArrayRef({height, width}) && g_alpha.is_contiguous(), "g_alpha must be [H, W]");
  TORCH_CHECK(background.numel() == 3 && background.is_contiguous(), "background must have 3 entries");
  for (const auto* x : {&background, &t_final, &g_img, &g_alpha}) {
    TORCH_CHECK(x->scalar_type() == means2d.scalar_type(), "inputs must share one floating dtype");
  }
  auto g_pair = at::zeros({gauss.size(0), absgrad ? 11 : 9}, means2d.options());
  AT_DISPATCH_FLOATING_TYPES(means2d.scalar_type(), "gs_tiles_backward", [&] {
    if (absgrad) {
      backward_impl<scalar_t, true>(means2d, conics, opac, colors, ext, start, count, gauss, tiles_x, width, height,
                                    background, t_final, last, g_img, g_alpha, g_pair);
    } else {
      backward_impl<scalar_t, false>(means2d, conics, opac, colors, ext, start, count, gauss, tiles_x, width, height,
                                     background, t_final, last, g_img, g_alpha, g_pair);
    }
  });
  return g_pair;
}

}  // namespace

TORCH_LIBRARY(spaceport_gs, m) {
  m.def(
      "tiles_forward(Tensor means2d, Tensor conics, Tensor opacities, Tensor colors, Tensor ext, Tensor start, "
      "Tensor count, Tensor gauss, int tiles_x, int width, int height) -> (Tensor, Tensor, Tensor)");
  m.def(
      "tiles_backward(Tensor means2d, Tensor conics, Tensor opacities, Tensor colors, Tensor ext, Tensor start, "
      "Tensor count, Tensor gauss, int tiles_x, int width, int height, Tensor background, Tensor t_final, "
      "Tensor last, Tensor g_img, Tensor g_alpha, bool absgrad) -> Tensor");
}

TORCH_LIBRARY_IMPL(spaceport_gs, CPU, m) {
  m.impl("tiles_forward", &forward);
  m.impl("tiles_backward", &backward);
}
