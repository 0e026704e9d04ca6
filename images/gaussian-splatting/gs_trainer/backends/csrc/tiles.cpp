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
    T trans[PX], acc[PX * 3];
    int32_t last[PX];
    bool done[PX];
    std::fill(trans, trans + PX, T(1));
    std::fill(acc, acc + PX * 3, T(0));
    std::fill(last, last + PX, 0);
    std::fill(done, done + PX, false);
    int active = r.w * r.h;
    const int64_t s = st[t];
    for (int64_t k = 0; k < ct[t] && active > 0; ++k) {
      const int64_t g = gs[s + k];
      const T mx = m2[2 * g], my = m2[2 * g + 1];
      const T a = con[3 * g], b = con[3 * g + 1], c = con[3 * g + 2], o = op[g];
      int xlo, xhi, ylo, yhi;
      reach(r, mx, my, ex[2 * g], ex[2 * g + 1], xlo, xhi, ylo, yhi);
      for (int y = ylo; y <= yhi; ++y) {
        const T dy = T(y) + T(0.5) - my;
        for (int x = xlo; x <= xhi; ++x) {
          const int p = (y - r.y0) * TILE + (x - r.x0);
          if (done[p]) continue;
          const T dx = T(x) + T(0.5) - mx;
          const T sigma = T(0.5) * (a * dx * dx + c * dy * dy) + b * dx * dy;
          const T raw = o * std::exp(-sigma);
          if (!(raw > T(ALPHA_MIN))) continue;
          const T alpha = std::min(raw, T(ALPHA_MAX));
          const T next = trans[p] * (T(1) - alpha);
          if (next < T(T_MIN)) {
            done[p] = true;
            --active;
            continue;
          }
          const T w = alpha * trans[p];
          acc[3 * p] += w * col[3 * g];
          acc[3 * p + 1] += w * col[3 * g + 1];
          acc[3 * p + 2] += w * col[3 * g + 2];
          trans[p] = next;
          last[p] = static_cast<int32_t>(k + 1);
        }
      }
    }
    for (int y = 0; y < r.h; ++y) {
      for (int x = 0; x < r.w; ++x) {
        const int p = y * TILE + x;
        const int64_t q = static_cast<int64_t>(r.y0 + y) * W + (r.x0 + x);
        out_c[3 * q] = acc[3 * p];
        out_c[3 * q + 1] = acc[3 * p + 1];
        out_c[3 * q + 2] = acc[3 * p + 2];
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

template <typename T>
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
  const int64_t n_tiles = start.size(0);
  const int W = static_cast<int>(width), H = static_cast<int>(height), TX = static_cast<int>(tiles_x);

#pragma omp parallel for schedule(dynamic, 1) num_threads(at::get_num_threads())
  for (int64_t t = 0; t < n_tiles; ++t) {
    const Tile r = tile_rect(t, TX, W, H);
    T trans[PX], behind[PX], gpx[PX * 3], g_tfin[PX], tfin[PX];
    int32_t last[PX];
    int32_t kmax = 0;
    for (int p = 0; p < PX; ++p) last[p] = 0;
    for (int y = 0; y < r.h; ++y) {
      for (int x = 0; x < r.w; ++x) {
        const int p = y * TILE + x;
        const int64_t q = static_cast<int64_t>(r.y0 + y) * W + (r.x0 + x);
        trans[p] = tfin[p] = tf[q];
        behind[p] = T(0);  // sum over composited Gaussians behind: g . c_j alpha_j T_j
        gpx[3 * p] = gi[3 * q];
        gpx[3 * p + 1] = gi[3 * q + 1];
        gpx[3 * p + 2] = gi[3 * q + 2];
        // dL/dT_final: the background shows through it; the alpha output is 1 - T_final
        g_tfin[p] = gi[3 * q] * bg[0] + gi[3 * q + 1] * bg[1] + gi[3 * q + 2] * bg[2] - ga[q];
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
      T d_mx = 0, d_my = 0, d_a = 0, d_b = 0, d_c = 0, d_o = 0, d_cr = 0, d_cg = 0, d_cb = 0;
      int xlo, xhi, ylo, yhi;
      reach(r, mx, my, ex[2 * g], ex[2 * g + 1], xlo, xhi, ylo, yhi);
      for (int y = ylo; y <= yhi; ++y) {
        const T dy = T(y) + T(0.5) - my;
        for (int x = xlo; x <= xhi; ++x) {
          const int p = (y - r.y0) * TILE + (x - r.x0);
          if (k >= last[p]) continue;
          const T dx = T(x) + T(0.5) - mx;
          const T sigma = T(0.5) * (a * dx * dx + c * dy * dy) + b * dx * dy;
          const T e = std::exp(-sigma);
          const T raw = o * e;
          if (!(raw > T(ALPHA_MIN))) continue;
          const T alpha = std::min(raw, T(ALPHA_MAX));
          const T one_minus = T(1) - alpha;
          const T t_before = trans[p] / one_minus;
          const T w = alpha * t_before;
          const T g0 = gpx[3 * p], g1 = gpx[3 * p + 1], g2 = gpx[3 * p + 2];
          d_cr += w * g0;
          d_cg += w * g1;
          d_cb += w * g2;
          const T gc = g0 * cr + g1 * cg + g2 * cb;
          const T d_alpha = t_before * gc - (behind[p] + tfin[p] * g_tfin[p]) / one_minus;
          behind[p] += gc * w;
          trans[p] = t_before;
          if (raw < T(ALPHA_MAX)) {  // no gradient through the clamp at 0.99
            d_o += d_alpha * e;
            const T d_sigma = -d_alpha * raw;
            d_a += d_sigma * T(0.5) * dx * dx;
            d_b += d_sigma * dx * dy;
            d_c += d_sigma * T(0.5) * dy * dy;
            // d sigma / d mx = -(a dx + b dy), d sigma / d my = -(b dx + c dy)
            d_mx -= d_sigma * (a * dx + b * dy);
            d_my -= d_sigma * (b * dx + c * dy);
          }
        }
      }
      T* row = gp + 9 * (s + k);
      row[0] = d_mx;
      row[1] = d_my;
      row[2] = d_a;
      row[3] = d_b;
      row[4] = d_c;
      row[5] = d_o;
      row[6] = d_cr;
      row[7] = d_cg;
      row[8] = d_cb;
    }
  }
}

// Gradient of each (tile, Gaussian) pair: [M, 9] = d means2d (2), d conic (3), d opacity,
// d colour (3). Rows past a tile's last composited Gaussian are 0.
at::Tensor backward(const at::Tensor& means2d, const at::Tensor& conics, const at::Tensor& opac,
                    const at::Tensor& colors, const at::Tensor& ext, const at::Tensor& start,
                    const at::Tensor& count, const at::Tensor& gauss, int64_t tiles_x, int64_t width,
                    int64_t height, const at::Tensor& background, const at::Tensor& t_final,
                    const at::Tensor& last, const at::Tensor& g_img, const at::Tensor& g_alpha) {
  check_inputs(means2d, conics, opac, colors, ext, start, count, gauss);
  TORCH_CHECK(t_final.sizes() == at::IntArrayRef({height, width}) && t_final.is_contiguous(), "t_final must be [H, W]");
  TORCH_CHECK(last.sizes() == at::IntArrayRef({height, width}) && last.scalar_type() == at::kInt, "last must be [H, W] int32");
  TORCH_CHECK(g_img.sizes() == at::IntArrayRef({height, width, 3}) && g_img.is_contiguous(), "g_img must be [H, W, 3]");
  TORCH_CHECK(g_alpha.sizes() == at::IntArrayRef({height, width}) && g_alpha.is_contiguous(), "g_alpha must be [H, W]");
  TORCH_CHECK(background.numel() == 3 && background.is_contiguous(), "background must have 3 entries");
  for (const auto* x : {&background, &t_final, &g_img, &g_alpha}) {
    TORCH_CHECK(x->scalar_type() == means2d.scalar_type(), "inputs must share one floating dtype");
  }
  auto g_pair = at::zeros({gauss.size(0), 9}, means2d.options());
  AT_DISPATCH_FLOATING_TYPES(means2d.scalar_type(), "gs_tiles_backward", [&] {
    backward_impl<scalar_t>(means2d, conics, opac, colors, ext, start, count, gauss, tiles_x, width, height,
                            background, t_final, last, g_img, g_alpha, g_pair);
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
      "Tensor last, Tensor g_img, Tensor g_alpha) -> Tensor");
}

TORCH_LIBRARY_IMPL(spaceport_gs, CPU, m) {
  m.impl("tiles_forward", &forward);
  m.impl("tiles_backward", &backward);
}
