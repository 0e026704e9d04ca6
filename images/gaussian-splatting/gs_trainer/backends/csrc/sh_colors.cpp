// View-dependent colours of the visible Gaussians from their SH coefficients, and the backward:
// cpu_common.py's torch_colors, clamp_min(eval_sh(degree, sh[ids], means[ids] - cam) + 0.5, 0)
// (gs_trainer/sh.py's basis and constants), per Gaussian in one pass.
//
// Why: in PyTorch this is a gather of the [V, 16, 3] coefficients, some forty elementwise
// operations for the basis, a batched product, and in backward a zero-filled [N, 16, 3] scatter
// plus the basis's chain rule; at a few hundred thousand Gaussians that is a large share of a CPU
// step. Here each Gaussian reads its own coefficients once and writes its own gradient rows. The
// ids are distinct (torch.nonzero of a mask), so every output row has one writer: the result does
// not depend on the thread count. The coefficients come as the trainer keeps them, band 0 (sh0,
// [N, 1, 3]) and the rest (shN, [N, K-1, 3]), and their gradients go back the same way: a
// [N, K, 3] concatenation per step, and its split in backward, copied every coefficient twice
// (5.6% of a step at 143k Gaussians; images/gaussian-splatting/README.md).

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros_like.h>
#include <c10/util/Exception.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>

namespace {

// gs_trainer/sh.py's C0..C3
constexpr double C0 = 0.28209479177387814;
constexpr double C1 = 0.4886025119029199;
constexpr double C2[5] = {1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792,
                          0.5462742152960396};
constexpr double C3[7] = {-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
                          -0.4570457994644658, 1.445305721320277,  -0.5900435899266435};
constexpr double NORM_MIN = 1e-12;

// The basis along the unit direction (x, y, z) up to `degree`, and, when `d` is given, each
// function's derivative with respect to x, y and z (d[k][0..2]).
template <typename T>
void basis(int degree, T x, T y, T z, T* b, T (*d)[3]) {
  b[0] = T(C0);
  if (d) d[0][0] = d[0][1] = d[0][2] = T(0);
  if (degree < 1) return;
  b[1] = T(-C1) * y; b[2] = T(C1) * z; b[3] = T(-C1) * x;
  if (d) {
    for (int k = 1; k < 4; ++k) d[k][0] = d[k][1] = d[k][2] = T(0);
    d[1][1] = T(-C1); d[2][2] = T(C1); d[3][0] = T(-C1);
  }
  if (degree < 2) return;
  const T xx = x * x, yy = y * y, zz = z * z;
  b[4] = T(C2[0]) * x * y;
  b[5] = T(C2[1]) * y * z;
  b[6] = T(C2[2]) * (2 * zz - xx - yy);
  b[7] = T(C2[3]) * x * z;
  b[8] = T(C2[4]) * (xx - yy);
  if (d) {
    const T D[5][3] = {{T(C2[0]) * y, T(C2[0]) * x, 0},
                       {0, T(C2[1]) * z, T(C2[1]) * y},
                       {T(C2[2]) * -2 * x, T(C2[2]) * -2 * y, T(C2[2]) * 4 * z},
                       {T(C2[3]) * z, 0, T(C2[3]) * x},
                       {T(C2[4]) * 2 * x, T(C2[4]) * -2 * y, 0}};
    for (int k = 0; k < 5; ++k)
      for (int a = 0; a < 3; ++a) d[4 + k][a] = D[k][a];
  }
  if (degree < 3) return;
  b[9] = T(C3[0]) * y * (3 * xx - yy);
  b[10] = T(C3[1]) * x * y * z;
  b[11] = T(C3[2]) * y * (4 * zz - xx - yy);
  b[12] = T(C3[3]) * z * (2 * zz - 3 * xx - 3 * yy);
  b[13] = T(C3[4]) * x * (4 * zz - xx - yy);
  b[14] = T(C3[5]) * z * (xx - yy);
  b[15] = T(C3[6]) * x * (xx - 3 * yy);
  if (d) {
    const T D[7][3] = {{T(C3[0]) * 6 * x * y, T(C3[0]) * (3 * xx - 3 * yy), 0},
                       {T(C3[1]) * y * z, T(C3[1]) * x * z, T(C3[1]) * x * y},
                       {T(C3[2]) * -2 * x * y, T(C3[2]) * (4 * zz - xx - 3 * yy), T(C3[2]) * 8 * y * z},
                       {T(C3[3]) * -6 * x * z, T(C3[3]) * -6 * y * z, T(C3[3]) * (6 * zz - 3 * xx - 3 * yy)},
                       {T(C3[4]) * (4 * zz - 3 * xx - yy), T(C3[4]) * -2 * x * y, T(C3[4]) * 8 * x * z},
                       {T(C3[5]) * 2 * x * z, T(C3[5]) * -2 * y * z, T(C3[5]) * (xx - yy)},
                       {T(C3[6]) * (3 * xx - 3 * yy), T(C3[6]) * -6 * x * y, 0}};
    for (int k = 0; k < 7; ++k)
      for (int a = 0; a < 3; ++a) d[9 + k][a] = D[k][a];
  }
}

// The direction from the camera centre to a Gaussian, normalised as sh.py does (norm clamped).
template <typename T>
struct Dir {
  T v[3], u[3], norm, clamped_norm;
};

template <typename T>
Dir<T> direction(const T* mean, const T* cam) {
  Dir<T> r;
  for (int a = 0; a < 3; ++a) r.v[a] = mean[a] - cam[a];
  r.norm = std::sqrt(r.v[0] * r.v[0] + r.v[1] * r.v[1] + r.v[2] * r.v[2]);
  r.clamped_norm = std::max(r.norm, T(NORM_MIN));
  for (int a = 0; a < 3; ++a) r.u[a] = r.v[a] / r.clamped_norm;
  return r;
}

struct Args {
  int64_t n, v, k, degree;
};

Args check(const char* op, const at::Tensor& sh0, const at::Tensor& shN, const at::Tensor& means,
           const at::Tensor& ids, const at::Tensor& cam, int64_t degree) {
  TORCH_CHECK(sh0.dim() == 3 && sh0.size(1) == 1 && sh0.size(2) == 3, op, ": sh0 must be [N, 1, 3]");
  TORCH_CHECK(shN.dim() == 3 && shN.size(0) == sh0.size(0) && shN.size(2) == 3, op, ": shN must be [N, K-1, 3]");
  TORCH_CHECK(means.dim() == 2 && means.size(0) == sh0.size(0) && means.size(1) == 3, op, ": means must be [N, 3]");
  TORCH_CHECK(ids.dim() == 1 && ids.scalar_type() == at::kLong, op, ": ids must be [V] int64");
  TORCH_CHECK(cam.dim() == 1 && cam.size(0) == 3, op, ": cam must be [3]");
  TORCH_CHECK(degree >= 0 && degree <= 3 && (degree + 1) * (degree + 1) <= 1 + shN.size(1), op,
              ": degree must be 0..3 with (degree+1)^2 <= K");
  for (const auto* t : {&sh0, &shN, &means, &ids, &cam}) {
    TORCH_CHECK(t->is_contiguous() && t->device().is_cpu(), op, ": inputs must be contiguous CPU tensors");
  }
  TORCH_CHECK(shN.scalar_type() == sh0.scalar_type() && means.scalar_type() == sh0.scalar_type() &&
                  cam.scalar_type() == sh0.scalar_type(),
              op, ": sh0, shN, means and cam must share one floating dtype");
  return {sh0.size(0), ids.size(0), 1 + shN.size(1), degree};
}

// Coefficient k of Gaussian g, channel c: band 0 from sh0, the rest from shN.
template <typename T>
struct Coeffs {
  const T* s0;
  const T* sn;
  int64_t rest;  // K - 1
  inline T at(int64_t g, int k, int c) const { return k == 0 ? s0[3 * g + c] : sn[(g * rest + (k - 1)) * 3 + c]; }
};

template <typename T>
at::Tensor forward_impl(const at::Tensor& sh0, const at::Tensor& shN, const at::Tensor& means, const at::Tensor& ids,
                        const at::Tensor& cam, const Args& a) {
  auto colors = at::empty({a.v, 3}, sh0.options());
  const Coeffs<T> S{sh0.data_ptr<T>(), shN.data_ptr<T>(), a.k - 1};
  const T *M = means.data_ptr<T>(), *C = cam.data_ptr<T>();
  const int64_t* I = ids.data_ptr<int64_t>();
  T* out = colors.data_ptr<T>();
  const int kb = int((a.degree + 1) * (a.degree + 1));
  at::parallel_for(0, a.v, 1024, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t g = I[i];
      TORCH_CHECK(g >= 0 && g < a.n, "sh_colors: id out of range");
      const Dir<T> dir = direction(M + 3 * g, C);
      T b[16];
      basis<T>(int(a.degree), dir.u[0], dir.u[1], dir.u[2], b, nullptr);
      for (int c = 0; c < 3; ++c) {
        T acc = 0;
        for (int k = 0; k < kb; ++k) acc += b[k] * S.at(g, k, c);
        out[3 * i + c] = std::max(acc + T(0.5), T(0));
      }
    }
  });
  return colors;
}

template <typename T>
std::tuple<at::Tensor, at::Tensor, at::Tensor> backward_impl(const at::Tensor& sh0, const at::Tensor& shN,
                                                             const at::Tensor& means, const at::Tensor& ids,
                                                             const at::Tensor& cam, const Args& a,
                                                             const at::Tensor& g_colors) {
  auto g_sh0 = at::zeros_like(sh0);
  auto g_shN = at::zeros_like(shN);
  auto g_means = at::zeros_like(means);
  const Coeffs<T> S{sh0.data_ptr<T>(), shN.data_ptr<T>(), a.k - 1};
  const T *M = means.data_ptr<T>(), *C = cam.data_ptr<T>(), *G = g_colors.data_ptr<T>();
  const int64_t* I = ids.data_ptr<int64_t>();
  T *gs0 = g_sh0.data_ptr<T>(), *gsn = g_shN.data_ptr<T>(), *gm = g_means.data_ptr<T>();
  const int kb = int((a.degree + 1) * (a.degree + 1));
  at::parallel_for(0, a.v, 1024, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t g = I[i];
      const Dir<T> dir = direction(M + 3 * g, C);
      T b[16], db[16][3];
      basis<T>(int(a.degree), dir.u[0], dir.u[1], dir.u[2], b, db);
      T graw[3];
      for (int c = 0; c < 3; ++c) {  // clamp_min(x + 0.5, 0) passes the gradient where x + 0.5 >= 0
        T acc = 0;
        for (int k = 0; k < kb; ++k) acc += b[k] * S.at(g, k, c);
        graw[c] = acc + T(0.5) >= T(0) ? G[3 * i + c] : T(0);
      }
      T gu[3] = {0, 0, 0};
      for (int k = 0; k < kb; ++k) {
        T* row = k == 0 ? gs0 + 3 * g : gsn + (g * (a.k - 1) + (k - 1)) * 3;
        T gb = 0;
        for (int c = 0; c < 3; ++c) {
          row[c] = b[k] * graw[c];
          gb += S.at(g, k, c) * graw[c];
        }
        for (int d = 0; d < 3; ++d) gu[d] += gb * db[k][d];
      }
      // u = v / max(|v|, eps): (gu - u (u . gu)) / |v| where the norm is not clamped
      const T dot = gu[0] * dir.u[0] + gu[1] * dir.u[1] + gu[2] * dir.u[2];
      const bool free = dir.norm >= T(NORM_MIN);
      for (int d = 0; d < 3; ++d) gm[3 * g + d] = (free ? gu[d] - dir.u[d] * dot : gu[d]) / dir.clamped_norm;
    }
  });
  return {g_sh0, g_shN, g_means};
}

at::Tensor sh_colors_forward(const at::Tensor& sh0, const at::Tensor& shN, const at::Tensor& means,
                             const at::Tensor& ids, const at::Tensor& cam, int64_t degree) {
  const Args a = check("sh_colors_forward", sh0, shN, means, ids, cam, degree);
  at::Tensor out;
  AT_DISPATCH_FLOATING_TYPES(sh0.scalar_type(), "gs_sh_colors_forward",
                             [&] { out = forward_impl<scalar_t>(sh0, shN, means, ids, cam, a); });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sh_colors_backward(const at::Tensor& sh0, const at::Tensor& shN,
                                                                  const at::Tensor& means, const at::Tensor& ids,
                                                                  const at::Tensor& cam, int64_t degree,
                                                                  const at::Tensor& g_colors) {
  const Args a = check("sh_colors_backward", sh0, shN, means, ids, cam, degree);
  TORCH_CHECK(g_colors.is_contiguous() && g_colors.scalar_type() == sh0.scalar_type() && g_colors.dim() == 2 &&
                  g_colors.size(0) == a.v && g_colors.size(1) == 3,
              "sh_colors_backward: g_colors must be a contiguous [V, 3] of sh0's dtype");
  std::tuple<at::Tensor, at::Tensor, at::Tensor> out;
  AT_DISPATCH_FLOATING_TYPES(sh0.scalar_type(), "gs_sh_colors_backward",
                             [&] { out = backward_impl<scalar_t>(sh0, shN, means, ids, cam, a, g_colors); });
  return out;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(spaceport_gs, m) {
  m.def("sh_colors_forward(Tensor sh0, Tensor shN, Tensor means, Tensor ids, Tensor cam, int degree) -> Tensor");
  m.def("sh_colors_backward(Tensor sh0, Tensor shN, Tensor means, Tensor ids, Tensor cam, int degree, "
        "Tensor g_colors) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(spaceport_gs, CPU, m) {
  m.impl("sh_colors_forward", &sh_colors_forward);
  m.impl("sh_colors_backward", &sh_colors_backward);
}
