// Tile binning for the compiled CPU rasterizer: the same (tile, Gaussian) lists as
// gs_trainer/backends/cpu_common.py's bin_tiles, without its dozens of [pairs]-sized tensors.
//
// A Gaussian is listed in every 16x16 tile its extent box touches where its alpha reaches
// 1/255 at some pixel centre (the exact minimum of the quadratic form over the tile's pixel
// centres). Lists are ordered by tile, then by depth (ties: by index, so the order is fixed).
// Two parallel passes over the depth-sorted Gaussians (count the tiles of each, then write
// them at its offset) and one stable counting sort by tile: the lists do not depend on the
// thread count.

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
#include <limits>
#include <numeric>
#include <tuple>
#include <vector>

namespace {

constexpr int TILE = 16;

// min of a x^2 + 2 b x y + c y^2 over x in [d0x-h, d0x+h], y in [d0y-h, d0y+h] (a, c > 0):
// 0 when the centre is inside, else the least of the four edges' minima.
template <typename T>
T rect_min_quadratic(T d0x, T d0y, T a, T b, T c, T h) {
  if (std::abs(d0x) <= h && std::abs(d0y) <= h) return T(0);
  T best = std::numeric_limits<T>::infinity();
  for (const T sx : {-h, h}) {
    const T x = d0x + sx;
    const T y = std::min(std::max(-b * x / c, d0y - h), d0y + h);
    best = std::min(best, a * x * x + T(2) * b * x * y + c * y * y);
  }
  for (const T sy : {-h, h}) {
    const T y = d0y + sy;
    const T x = std::min(std::max(-b * y / a, d0x - h), d0x + h);
    best = std::min(best, a * x * x + T(2) * b * x * y + c * y * y);
  }
  return best;
}

struct Box {
  int64_t x0, x1, y0, y1;  // tile columns [x0, x1), rows [y0, y1)
};

template <typename T>
Box tile_box(const T* m2, const T* ex, int64_t g, int64_t tiles_x, int64_t tiles_y) {
  auto clampi = [](int64_t v, int64_t hi) { return std::min(std::max<int64_t>(v, 0), hi); };
  const T mx = m2[2 * g], my = m2[2 * g + 1], exx = ex[2 * g], exy = ex[2 * g + 1];
  Box b;
  b.x0 = clampi(static_cast<int64_t>(std::floor((mx - exx) / T(TILE))), tiles_x);
  b.x1 = clampi(static_cast<int64_t>(std::floor((mx + exx) / T(TILE))) + 1, tiles_x);
  b.y0 = clampi(static_cast<int64_t>(std::floor((my - exy) / T(TILE))), tiles_y);
  b.y1 = clampi(static_cast<int64_t>(std::floor((my + exy) / T(TILE))) + 1, tiles_y);
  return b;
}

// Calls emit(tile) for each tile of Gaussian g that passes the exact alpha test, row by row.
template <typename T, typename F>
void for_each_tile(const T* m2, const T* ex, const T* con, const T* op, int64_t g, int64_t tiles_x,
                   int64_t tiles_y, F&& emit) {
  const Box b = tile_box(m2, ex, g, tiles_x, tiles_y);
  const T half = T(TILE) / T(2);
  const T log_min = static_cast<T>(std::log(1.0 / 255.0));
  const T log_o = std::log(op[g]);
  const T a = con[3 * g], bb = con[3 * g + 1], c = con[3 * g + 2];
  for (int64_t ty = b.y0; ty < b.y1; ++ty) {
    for (int64_t tx = b.x0; tx < b.x1; ++tx) {
      const T d0x = (T(tx) * T(TILE) + half) - m2[2 * g];
      const T d0y = (T(ty) * T(TILE) + half) - m2[2 * g + 1];
      const T q = rect_min_quadratic(d0x, d0y, a, bb, c, half - T(0.5));
      if (T(-0.5) * q + log_o >= log_min) emit(ty * tiles_x + tx);
    }
  }
}

template <typename T>
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> bin_impl(const at::Tensor& means2d, const at::Tensor& ext,
                                                                    const at::Tensor& depths, const at::Tensor& conics,
                                                                    const at::Tensor& opac, int64_t tiles_x,
                                                                    int64_t tiles_y) {
  const int64_t n = means2d.size(0), n_tiles = tiles_x * tiles_y;
  const T* m2 = means2d.data_ptr<T>();
  const T* ex = ext.data_ptr<T>();
  const T* dp = depths.data_ptr<T>();
  const T* con = conics.data_ptr<T>();
  const T* op = opac.data_ptr<T>();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t(0));
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return dp[i] < dp[j]; });
  std::vector<int64_t> offset(n + 1, 0);
  at::parallel_for(0, n, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t k = 0;
      for_each_tile(m2, ex, con, op, order[r], tiles_x, tiles_y, [&](int64_t) { ++k; });
      offset[r + 1] = k;
    }
  });
  std::partial_sum(offset.begin(), offset.end(), offset.begin());
  const int64_t m = offset[n];
  std::vector<int64_t> pair_tile(m);
  at::parallel_for(0, n, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t k = offset[r];
      for_each_tile(m2, ex, con, op, order[r], tiles_x, tiles_y, [&](int64_t t) { pair_tile[k++] = t; });
    }
  });
  auto count = at::zeros({n_tiles}, means2d.options().dtype(at::kLong));
  auto start = at::empty({n_tiles}, means2d.options().dtype(at::kLong));
  auto gauss = at::empty({m}, means2d.options().dtype(at::kLong));
  auto tile = at::empty({m}, means2d.options().dtype(at::kLong));
  int64_t* ct = count.data_ptr<int64_t>();
  int64_t* st = start.data_ptr<int64_t>();
  for (int64_t i = 0; i < m; ++i) ++ct[pair_tile[i]];
  int64_t acc = 0;
  for (int64_t t = 0; t < n_tiles; ++t) {
    st[t] = acc;
    acc += ct[t];
  }
  // stable scatter by tile: within a tile, pairs keep the depth order they were written in
  std::vector<int64_t> fill(st, st + n_tiles);
  int64_t* gs = gauss.data_ptr<int64_t>();
  int64_t* tl = tile.data_ptr<int64_t>();
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = offset[r]; i < offset[r + 1]; ++i) {
      const int64_t q = fill[pair_tile[i]]++;
      gs[q] = order[r];
      tl[q] = pair_tile[i];
    }
  }
  return {gauss, tile, start, count};
}

// (gauss [M], tile [M], start [tiles], count [tiles]): the TileLists of cpu_common.py
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> bin_tiles(const at::Tensor& means2d, const at::Tensor& ext,
                                                                     const at::Tensor& depths, const at::Tensor& conics,
                                                                     const at::Tensor& opac, int64_t width,
                                                                     int64_t height) {
  const auto n = means2d.size(0);
  TORCH_CHECK(means2d.dim() == 2 && means2d.size(1) == 2, "bin_tiles: means2d must be [N, 2]");
  TORCH_CHECK(ext.sizes() == means2d.sizes(), "bin_tiles: ext must be [N, 2]");
  TORCH_CHECK(conics.dim() == 2 && conics.size(0) == n && conics.size(1) == 3, "bin_tiles: conics must be [N, 3]");
  TORCH_CHECK(depths.dim() == 1 && depths.size(0) == n && opac.dim() == 1 && opac.size(0) == n,
              "bin_tiles: depths and opacities must be [N]");
  for (const auto* t : {&means2d, &ext, &depths, &conics, &opac}) {
    TORCH_CHECK(t->is_contiguous() && t->device().is_cpu(), "bin_tiles: inputs must be contiguous CPU tensors");
    TORCH_CHECK(t->scalar_type() == means2d.scalar_type(), "bin_tiles: inputs must share one floating dtype");
  }
  TORCH_CHECK(width > 0 && height > 0, "bin_tiles: empty image");
  const int64_t tiles_x = (width + TILE - 1) / TILE, tiles_y = (height + TILE - 1) / TILE;
  std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> out;
  AT_DISPATCH_FLOATING_TYPES(means2d.scalar_type(), "gs_bin_tiles", [&] {
    out = bin_impl<scalar_t>(means2d, ext, depths, conics, opac, tiles_x, tiles_y);
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(spaceport_gs, m) {
  m.def("bin_tiles(Tensor means2d, Tensor ext, Tensor depths, Tensor conics, Tensor opacities, int width, "
        "int height) -> (Tensor, Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(spaceport_gs, CPU, m) { m.impl("bin_tiles", &bin_tiles); }
