// Fused SSIM for the training loss: mean SSIM of two [H, W, C] images with an 11x11 Gaussian
// window (sigma 1.5), zero 'same' padding, as gs_trainer/metrics.py computes it with conv2d,
// and its gradient with respect to the first image.
//
// Why: at 800x600 the loss's ten depthwise convolutions (five forward, their backward) cost
// more than compositing. Here each of the five moments (x, y, x^2, y^2, xy) is one separable
// blur over rows then columns, vectorised along the interleaved row, one row per thread.
// The forward also writes the three per-pixel partial derivatives of the SSIM map with respect
// to the local moments (mu_x, E[x^2], E[xy]); the backward blurs them (the window is symmetric
// and zero-padded, so the blur is its own adjoint) and combines them per pixel. Every output
// element is summed by one thread in a fixed order: the result does not depend on the thread
// count.

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

constexpr int WIN = 11;
constexpr int RAD = WIN / 2;
constexpr double SIGMA = 1.5;
constexpr double C1 = 0.01 * 0.01;
constexpr double C2 = 0.03 * 0.03;

template <typename T>
std::vector<T> window() {
  std::vector<T> g(WIN);
  T sum = T(0);
  for (int i = 0; i < WIN; ++i) {
    const T x = T(i - RAD);
    g[i] = std::exp(-(x * x) / T(2 * SIGMA * SIGMA));
    sum += g[i];
  }
  for (auto& v : g) v /= sum;
  return g;
}

// One row of the separable blur's first pass: dst = row blur of src (W*C values, channels
// interleaved, so taps are C apart); pad is a zeroed scratch row of WC + 2 RAD C values.
template <typename T>
void hblur_row(const T* src, T* dst, int64_t WC, int64_t C, const std::vector<T>& g, std::vector<T>& pad) {
  std::copy(src, src + WC, pad.begin() + RAD * C);
  std::fill(dst, dst + WC, T(0));
  for (int i = 0; i < WIN; ++i) {
    const T w = g[i];
    const T* r = pad.data() + i * C;
    for (int64_t j = 0; j < WC; ++j) dst[j] += w * r[j];
  }
}

// Row y of the second pass over a plane of the first pass's rows ([H, WC]).
template <typename T>
void vblur_row(const T* plane, int64_t y, int64_t H, int64_t WC, const std::vector<T>& g, T* out) {
  std::fill(out, out + WC, T(0));
  const int64_t lo = std::max<int64_t>(0, y - RAD), hi = std::min<int64_t>(H - 1, y + RAD);
  for (int64_t k = lo; k <= hi; ++k) {
    const T w = g[k - y + RAD];
    const T* r = plane + k * WC;
    for (int64_t j = 0; j < WC; ++j) out[j] += w * r[j];
  }
}

// The first pass of P planes, each given per row by fill(plane, y, dst): two parallel regions
// per SSIM pass in all (few barriers: on a busy machine each one costs a time slice).
template <typename T, typename F>
std::vector<T> hblur_planes(int P, int64_t H, int64_t WC, int64_t C, const std::vector<T>& g, F&& fill) {
  std::vector<T> out(static_cast<size_t>(P) * H * WC);
  at::parallel_for(0, H, 4, [&](int64_t y0, int64_t y1) {
    std::vector<T> pad(WC + 2 * RAD * C, T(0)), src(WC);
    for (int64_t y = y0; y < y1; ++y) {
      for (int q = 0; q < P; ++q) {
        fill(q, y, src.data());
        hblur_row(src.data(), out.data() + (static_cast<int64_t>(q) * H + y) * WC, WC, C, g, pad);
      }
    }
  });
  return out;
}

void check_pair(const at::Tensor& x, const at::Tensor& y) {
  TORCH_CHECK(x.dim() == 3 && x.sizes() == y.sizes(), "ssim: images must be [H, W, C] of the same shape");
  TORCH_CHECK(x.is_contiguous() && y.is_contiguous() && x.device().is_cpu() && y.device().is_cpu(),
              "ssim: images must be contiguous CPU tensors");
  TORCH_CHECK(x.scalar_type() == y.scalar_type(), "ssim: images must share one floating dtype");
}

template <typename T>
void forward_impl(const at::Tensor& x, const at::Tensor& y, at::Tensor& value, at::Tensor& d_mu,
                  at::Tensor& d_xx, at::Tensor& d_xy) {
  const int64_t H = x.size(0), WC = x.size(1) * x.size(2), C = x.size(2), n = H * WC;
  const T* px = x.data_ptr<T>();
  const T* py = y.data_ptr<T>();
  const auto g = window<T>();
  // planes: x, y, x^2, y^2, xy
  const auto rows = hblur_planes<T>(5, H, WC, C, g, [&](int q, int64_t r, T* dst) {
    const T* a = px + r * WC;
    const T* b = py + r * WC;
    for (int64_t j = 0; j < WC; ++j) {
      dst[j] = q == 0 ? a[j] : q == 1 ? b[j] : q == 2 ? a[j] * a[j] : q == 3 ? b[j] * b[j] : a[j] * b[j];
    }
  });
  T* dm = d_mu.data_ptr<T>();
  T* dxx = d_xx.data_ptr<T>();
  T* dxy = d_xy.data_ptr<T>();
  std::vector<double> row_sum(H, 0.0);
  at::parallel_for(0, H, 4, [&](int64_t r0, int64_t r1) {
    std::vector<T> m(5 * WC);
    for (int64_t r = r0; r < r1; ++r) {
      for (int q = 0; q < 5; ++q) vblur_row(rows.data() + q * n, r, H, WC, g, m.data() + q * WC);
      double acc = 0.0;
      for (int64_t j = 0; j < WC; ++j) {
        const int64_t i = r * WC + j;
        const T mx = m[j], my = m[WC + j];
        const T a1 = T(2) * mx * my + T(C1);
        const T a2 = T(2) * (m[4 * WC + j] - mx * my) + T(C2);
        const T b1 = mx * mx + my * my + T(C1);
        const T b2 = (m[2 * WC + j] - mx * mx) + (m[3 * WC + j] - my * my) + T(C2);
        const T d = b1 * b2;
        const T s = a1 * a2 / d;
        const T ds_a1 = a2 / d, ds_a2 = a1 / d, ds_b1 = -s / b1, ds_b2 = -s / b2;
        // the SSIM map as a function of (mu_x, E[x^2], E[xy]) with y fixed
        dm[i] = T(2) * my * (ds_a1 - ds_a2) + T(2) * mx * (ds_b1 - ds_b2);
        dxx[i] = ds_b2;
        dxy[i] = T(2) * ds_a2;
        acc += double(s);
      }
      row_sum[r] = acc;
    }
  });
  double total = 0.0;
  for (double v : row_sum) total += v;
  value.fill_(static_cast<T>(total / double(n)));
}

template <typename T>
void backward_impl(const at::Tensor& x, const at::Tensor& y, const at::Tensor& d_mu, const at::Tensor& d_xx,
                   const at::Tensor& d_xy, double scale, at::Tensor& gx) {
  const int64_t H = x.size(0), WC = x.size(1) * x.size(2), C = x.size(2), n = H * WC;
  const auto g = window<T>();
  const T* maps[3] = {d_mu.data_ptr<T>(), d_xx.data_ptr<T>(), d_xy.data_ptr<T>()};
  const auto rows = hblur_planes<T>(3, H, WC, C, g, [&](int q, int64_t r, T* dst) {
    std::copy(maps[q] + r * WC, maps[q] + (r + 1) * WC, dst);
  });
  const T* px = x.data_ptr<T>();
  const T* py = y.data_ptr<T>();
  T* out = gx.data_ptr<T>();
  const T k = static_cast<T>(scale / double(n));
  at::parallel_for(0, H, 4, [&](int64_t r0, int64_t r1) {
    std::vector<T> b(3 * WC);
    for (int64_t r = r0; r < r1; ++r) {
      for (int q = 0; q < 3; ++q) vblur_row(rows.data() + q * n, r, H, WC, g, b.data() + q * WC);
      for (int64_t j = 0; j < WC; ++j) {
        const int64_t i = r * WC + j;
        out[i] = k * (b[j] + T(2) * px[i] * b[WC + j] + py[i] * b[2 * WC + j]);
      }
    }
  });
}

// (mean SSIM as a 0-d tensor, and the three per-pixel derivative maps the backward needs)
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> ssim_forward(const at::Tensor& x, const at::Tensor& y) {
  check_pair(x, y);
  TORCH_CHECK(x.size(0) > 0 && x.size(1) > 0 && x.size(2) > 0, "ssim: empty image");
  auto value = at::empty({}, x.options());
  auto d_mu = at::empty(x.sizes(), x.options());
  auto d_xx = at::empty(x.sizes(), x.options());
  auto d_xy = at::empty(x.sizes(), x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gs_ssim_forward", [&] {
    forward_impl<scalar_t>(x, y, value, d_mu, d_xx, d_xy);
  });
  return {value, d_mu, d_xx, d_xy};
}

// d (grad * mean SSIM) / d x
at::Tensor ssim_backward(const at::Tensor& x, const at::Tensor& y, const at::Tensor& d_mu, const at::Tensor& d_xx,
                         const at::Tensor& d_xy, double grad) {
  check_pair(x, y);
  for (const auto* t : {&d_mu, &d_xx, &d_xy}) {
    TORCH_CHECK(t->sizes() == x.sizes() && t->is_contiguous() && t->scalar_type() == x.scalar_type(),
                "ssim: the saved maps must match the image");
  }
  auto gx = at::empty(x.sizes(), x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gs_ssim_backward", [&] {
    backward_impl<scalar_t>(x, y, d_mu, d_xx, d_xy, grad, gx);
  });
  return gx;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(spaceport_gs, m) {
  m.def("ssim_forward(Tensor x, Tensor y) -> (Tensor, Tensor, Tensor, Tensor)");
  m.def("ssim_backward(Tensor x, Tensor y, Tensor d_mu, Tensor d_xx, Tensor d_xy, float grad) -> Tensor");
}

TORCH_LIBRARY_IMPL(spaceport_gs, CPU, m) {
  m.impl("ssim_forward", &ssim_forward);
  m.impl("ssim_backward", &ssim_backward);
}
