// EWA projection of 3D Gaussians to the image and its backward: gs_trainer/backends/projection.py's
// `project` (gsplat's classic projection) computed per Gaussian in one pass.
//
// Why: in PyTorch the projection is some sixty elementwise operations over all N Gaussians forward
// and twice that backward, each a pass over memory with its own temporary; at a few hundred
// thousand Gaussians they cost more than compositing. Here each Gaussian's projection and its
// gradient are a few hundred flops in registers. The backward recomputes the forward's
// intermediates instead of saving them. Every output element is written by one thread: the
// result does not depend on the thread count.
//
// Conventions as in projection.py: viewmat is world -> camera (row-major [4, 4]), K the [3, 3]
// intrinsics, quats (w, x, y, z) not necessarily unit, scales already exponentiated. Where
// projection.py selects with torch.where, the branch not taken gets no gradient; where it clamps,
// the clamped side gets none.

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <c10/util/Exception.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>

namespace {

constexpr double NEAR = 0.01;   // projection.py NEAR
constexpr double EPS2D = 0.3;   // projection.py EPS2D
constexpr double QUAT_MIN = 1e-12;
constexpr double COMP_MIN = 1e-12;

template <typename T>
struct Camera {
  T R[3][3], t[3], fx, fy, cx, cy, lim_xp, lim_xn, lim_yp, lim_yn;
};

template <typename T>
Camera<T> camera(const at::Tensor& viewmat, const at::Tensor& K, int64_t width, int64_t height) {
  auto v = viewmat.to(at::kDouble).contiguous();
  auto k = K.to(at::kDouble).contiguous();
  const double* V = v.data_ptr<double>();
  const double* Kp = k.data_ptr<double>();
  Camera<T> c{};
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 3; ++b) c.R[a][b] = T(V[a * 4 + b]);
    c.t[a] = T(V[a * 4 + 3]);
  }
  c.fx = T(Kp[0]); c.fy = T(Kp[4]); c.cx = T(Kp[2]); c.cy = T(Kp[5]);
  const T tan_x = T(0.5) * T(width) / c.fx, tan_y = T(0.5) * T(height) / c.fy;
  c.lim_xp = (T(width) - c.cx) / c.fx + T(0.3) * tan_x;
  c.lim_xn = c.cx / c.fx + T(0.3) * tan_x;
  c.lim_yp = (T(height) - c.cy) / c.fy + T(0.3) * tan_y;
  c.lim_yn = c.cy / c.fy + T(0.3) * tan_y;
  return c;
}

// Everything the forward computes for one Gaussian, kept for the backward's chain rule.
template <typename T>
struct Proj {
  T x, y, z, zs, rx, ry, tx, ty;
  bool in_front, x_free, y_free;  // x_free: x/z was not clamped (the clamp passes a gradient)
  T qn[4], qnorm, Rq[3][3], M[3][3], C[3][3], Tm[2][3];
  T cov00, cov01, cov11, cxx, cxy, cyy, det, det_s, det_raw, ratio, comp;
  bool ok;
};

template <typename T>
void forward_one(const Camera<T>& c, const T* m, const T* q, const T* s, Proj<T>& p) {
  T pc[3];
  for (int a = 0; a < 3; ++a) pc[a] = c.R[a][0] * m[0] + c.R[a][1] * m[1] + c.R[a][2] * m[2] + c.t[a];
  p.x = pc[0]; p.y = pc[1]; p.z = pc[2];
  p.in_front = p.z > T(NEAR);
  p.zs = p.in_front ? p.z : T(1);
  p.rx = p.x / p.zs;
  p.ry = p.y / p.zs;
  const T clx = std::min(c.lim_xp, std::max(-c.lim_xn, p.rx));
  const T cly = std::min(c.lim_yp, std::max(-c.lim_yn, p.ry));
  p.x_free = p.rx > -c.lim_xn && p.rx < c.lim_xp;
  p.y_free = p.ry > -c.lim_yn && p.ry < c.lim_yp;
  p.tx = p.zs * clx;
  p.ty = p.zs * cly;
  const T n = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  p.qnorm = std::max(n, T(QUAT_MIN));
  for (int a = 0; a < 4; ++a) p.qn[a] = q[a] / p.qnorm;
  const T w = p.qn[0], x = p.qn[1], y = p.qn[2], z = p.qn[3];
  const T Rq[3][3] = {{1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)},
                      {2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)},
                      {2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)}};
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      p.Rq[a][b] = Rq[a][b];
      p.M[a][b] = Rq[a][b] * s[b];
    }
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) p.C[a][b] = p.M[a][0] * p.M[b][0] + p.M[a][1] * p.M[b][1] + p.M[a][2] * p.M[b][2];
  const T zs2 = p.zs * p.zs;
  const T J00 = c.fx / p.zs, J02 = -c.fx * p.tx / zs2, J11 = c.fy / p.zs, J12 = -c.fy * p.ty / zs2;
  for (int k = 0; k < 3; ++k) {
    p.Tm[0][k] = J00 * c.R[0][k] + J02 * c.R[2][k];
    p.Tm[1][k] = J11 * c.R[1][k] + J12 * c.R[2][k];
  }
  T TC[2][3];
  for (int a = 0; a < 2; ++a)
    for (int k = 0; k < 3; ++k) TC[a][k] = p.Tm[a][0] * p.C[0][k] + p.Tm[a][1] * p.C[1][k] + p.Tm[a][2] * p.C[2][k];
  p.cov00 = TC[0][0] * p.Tm[0][0] + TC[0][1] * p.Tm[0][1] + TC[0][2] * p.Tm[0][2];
  p.cov01 = TC[0][0] * p.Tm[1][0] + TC[0][1] * p.Tm[1][1] + TC[0][2] * p.Tm[1][2];
  p.cov11 = TC[1][0] * p.Tm[1][0] + TC[1][1] * p.Tm[1][1] + TC[1][2] * p.Tm[1][2];
  p.cxx = p.cov00 + T(EPS2D);
  p.cxy = p.cov01;
  p.cyy = p.cov11 + T(EPS2D);
  p.det = p.cxx * p.cyy - p.cxy * p.cxy;
  p.ok = p.in_front && p.det > T(0);
  p.det_s = p.ok ? p.det : T(1);
  p.det_raw = p.cov00 * p.cov11 - p.cxy * p.cxy;
  p.ratio = p.det_raw / p.det_s;
  p.comp = std::sqrt(std::max(p.ratio, T(COMP_MIN)));
}

template <typename T>
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> forward_impl(
    const at::Tensor& means, const at::Tensor& quats, const at::Tensor& scales, const Camera<T>& c) {
  const int64_t n = means.size(0);
  auto opts = means.options();
  auto means2d = at::empty({n, 2}, opts), conics = at::empty({n, 3}, opts), cov2d = at::empty({n, 3}, opts);
  auto depths = at::empty({n}, opts), comp = at::empty({n}, opts);
  auto visible = at::empty({n}, opts.dtype(at::kBool));
  const T *M = means.data_ptr<T>(), *Q = quats.data_ptr<T>(), *S = scales.data_ptr<T>();
  T *o2 = means2d.data_ptr<T>(), *oc = conics.data_ptr<T>(), *ov = cov2d.data_ptr<T>();
  T *od = depths.data_ptr<T>(), *ok = comp.data_ptr<T>();
  bool* vis = visible.data_ptr<bool>();
  at::parallel_for(0, n, 2048, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      Proj<T> p;
      forward_one(c, M + 3 * i, Q + 4 * i, S + 3 * i, p);
      o2[2 * i] = c.fx * p.x / p.zs + c.cx;
      o2[2 * i + 1] = c.fy * p.y / p.zs + c.cy;
      oc[3 * i] = p.cyy / p.det_s;
      oc[3 * i + 1] = -p.cxy / p.det_s;
      oc[3 * i + 2] = p.cxx / p.det_s;
      ov[3 * i] = p.cxx;
      ov[3 * i + 1] = p.cxy;
      ov[3 * i + 2] = p.cyy;
      od[i] = p.z;
      ok[i] = p.comp;
      vis[i] = p.ok;
    }
  });
  return {means2d, conics, cov2d, depths, visible, comp};
}

// d loss / d (means, quats, scales) from the gradients of means2d, conics, cov2d, depths and
// compensation (any of which may be all zero).
template <typename T>
void backward_one(const Camera<T>& c, const T* q, const T* s, const Proj<T>& p, const T* g2, const T* gc,
                  const T* gv, T gd, T gk, T* gm, T* gq, T* gs) {
  // conics = (cyy, -cxy, cxx) / det_s; cov2d = (cxx, cxy, cyy); compensation = sqrt(det_raw / det_s)
  T g_cxx = gc[2] / p.det_s + gv[0], g_cxy = -gc[1] / p.det_s + gv[1], g_cyy = gc[0] / p.det_s + gv[2];
  T g_det = 0;
  if (p.ok) g_det = -(gc[0] * p.cyy - gc[1] * p.cxy + gc[2] * p.cxx) / (p.det * p.det);
  T g_cov00 = 0, g_cov11 = 0;
  if (p.ratio >= T(COMP_MIN)) {
    const T g_ratio = gk * T(0.5) / p.comp;
    const T g_raw = g_ratio / p.det_s;
    if (p.ok) g_det += -g_ratio * p.det_raw / (p.det_s * p.det_s);
    g_cov00 += g_raw * p.cov11;
    g_cov11 += g_raw * p.cov00;
    g_cxy += -2 * p.cxy * g_raw;
  }
  if (p.ok) {
    g_cxx += g_det * p.cyy;
    g_cyy += g_det * p.cxx;
    g_cxy += -2 * p.cxy * g_det;
  }
  g_cov00 += g_cxx;
  g_cov11 += g_cyy;
  // cov = T C T^T with only entries 00, 01, 11 read: S = G + G^T
  const T Sm[2][2] = {{2 * g_cov00, g_cxy}, {g_cxy, 2 * g_cov11}};
  T ST[2][3], dT[2][3];
  for (int a = 0; a < 2; ++a)
    for (int k = 0; k < 3; ++k) ST[a][k] = Sm[a][0] * p.Tm[0][k] + Sm[a][1] * p.Tm[1][k];
  for (int a = 0; a < 2; ++a)
    for (int k = 0; k < 3; ++k) dT[a][k] = ST[a][0] * p.C[0][k] + ST[a][1] * p.C[1][k] + ST[a][2] * p.C[2][k];
  // d C + d C^T = T^T S T; dM = (T^T S T) M
  T D[3][3];
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) D[a][b] = p.Tm[0][a] * ST[0][b] + p.Tm[1][a] * ST[1][b];
  T gR[3][3];
  for (int b = 0; b < 3; ++b) gs[b] = 0;
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      const T dM = D[a][0] * p.M[0][b] + D[a][1] * p.M[1][b] + D[a][2] * p.M[2][b];
      gs[b] += dM * p.Rq[a][b];
      gR[a][b] = dM * s[b];
    }
  const T w = p.qn[0], x = p.qn[1], y = p.qn[2], z = p.qn[3];
  const T gn[4] = {
      2 * (-z * gR[0][1] + y * gR[0][2] + z * gR[1][0] - x * gR[1][2] - y * gR[2][0] + x * gR[2][1]),
      2 * (y * gR[0][1] + z * gR[0][2] + y * gR[1][0] - 2 * x * gR[1][1] - w * gR[1][2] + z * gR[2][0] + w * gR[2][1] -
           2 * x * gR[2][2]),
      2 * (-2 * y * gR[0][0] + x * gR[0][1] + w * gR[0][2] + x * gR[1][0] + z * gR[1][2] - w * gR[2][0] + z * gR[2][1] -
           2 * y * gR[2][2]),
      2 * (-2 * z * gR[0][0] - w * gR[0][1] + x * gR[0][2] + w * gR[1][0] - 2 * z * gR[1][1] + y * gR[1][2] +
           x * gR[2][0] + y * gR[2][1])};
  const T n = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  const T dot = gn[0] * p.qn[0] + gn[1] * p.qn[1] + gn[2] * p.qn[2] + gn[3] * p.qn[3];
  for (int a = 0; a < 4; ++a) gq[a] = (n >= T(QUAT_MIN) ? gn[a] - p.qn[a] * dot : gn[a]) / p.qnorm;
  // T = J R: the four non-zero entries of J
  T dJ00 = 0, dJ02 = 0, dJ11 = 0, dJ12 = 0;
  for (int k = 0; k < 3; ++k) {
    dJ00 += dT[0][k] * c.R[0][k];
    dJ02 += dT[0][k] * c.R[2][k];
    dJ11 += dT[1][k] * c.R[1][k];
    dJ12 += dT[1][k] * c.R[2][k];
  }
  const T zs = p.zs, zs2 = zs * zs, zs3 = zs2 * zs;
  T g_x = g2[0] * c.fx / zs, g_y = g2[1] * c.fy / zs;
  T g_zs = -g2[0] * c.fx * p.x / zs2 - g2[1] * c.fy * p.y / zs2;
  g_zs += -c.fx / zs2 * dJ00 - c.fy / zs2 * dJ11 + 2 * c.fx * p.tx / zs3 * dJ02 + 2 * c.fy * p.ty / zs3 * dJ12;
  const T g_tx = -c.fx / zs2 * dJ02, g_ty = -c.fy / zs2 * dJ12;
  // tx = zs * clamp(x / zs): zs times the clamped value, plus x / zs's path where not clamped
  g_zs += g_tx * (p.tx / zs) + g_ty * (p.ty / zs);
  if (p.x_free) {
    g_x += g_tx;
    g_zs += -g_tx * p.x / zs;
  }
  if (p.y_free) {
    g_y += g_ty;
    g_zs += -g_ty * p.y / zs;
  }
  const T g_z = gd + (p.in_front ? g_zs : T(0));
  const T gp[3] = {g_x, g_y, g_z};
  for (int b = 0; b < 3; ++b) gm[b] = c.R[0][b] * gp[0] + c.R[1][b] * gp[1] + c.R[2][b] * gp[2];
}

template <typename T>
std::tuple<at::Tensor, at::Tensor, at::Tensor> backward_impl(const at::Tensor& means, const at::Tensor& quats,
                                                              const at::Tensor& scales, const Camera<T>& c,
                                                              const at::Tensor& g_means2d, const at::Tensor& g_conics,
                                                              const at::Tensor& g_cov2d, const at::Tensor& g_depths,
                                                              const at::Tensor& g_comp) {
  const int64_t n = means.size(0);
  auto gm = at::empty_like(means), gq = at::empty_like(quats), gs = at::empty_like(scales);
  const T *M = means.data_ptr<T>(), *Q = quats.data_ptr<T>(), *S = scales.data_ptr<T>();
  const T *G2 = g_means2d.data_ptr<T>(), *GC = g_conics.data_ptr<T>(), *GV = g_cov2d.data_ptr<T>();
  const T *GD = g_depths.data_ptr<T>(), *GK = g_comp.data_ptr<T>();
  T *om = gm.data_ptr<T>(), *oq = gq.data_ptr<T>(), *os = gs.data_ptr<T>();
  at::parallel_for(0, n, 2048, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      Proj<T> p;
      forward_one(c, M + 3 * i, Q + 4 * i, S + 3 * i, p);
      backward_one(c, Q + 4 * i, S + 3 * i, p, G2 + 2 * i, GC + 3 * i, GV + 3 * i, GD[i], GK[i], om + 3 * i,
                   oq + 4 * i, os + 3 * i);
    }
  });
  return {gm, gq, gs};
}

void check_inputs(const char* op, const at::Tensor& means, const at::Tensor& quats, const at::Tensor& scales) {
  const int64_t n = means.size(0);
  TORCH_CHECK(means.dim() == 2 && means.size(1) == 3, op, ": means must be [N, 3]");
  TORCH_CHECK(quats.dim() == 2 && quats.size(0) == n && quats.size(1) == 4, op, ": quats must be [N, 4]");
  TORCH_CHECK(scales.dim() == 2 && scales.size(0) == n && scales.size(1) == 3, op, ": scales must be [N, 3]");
  for (const auto* t : {&means, &quats, &scales}) {
    TORCH_CHECK(t->is_contiguous() && t->device().is_cpu(), op, ": inputs must be contiguous CPU tensors");
    TORCH_CHECK(t->scalar_type() == means.scalar_type(), op, ": inputs must share one floating dtype");
  }
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> project_forward(
    const at::Tensor& means, const at::Tensor& quats, const at::Tensor& scales, const at::Tensor& viewmat,
    const at::Tensor& K, int64_t width, int64_t height) {
  check_inputs("project_forward", means, quats, scales);
  std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> out;
  AT_DISPATCH_FLOATING_TYPES(means.scalar_type(), "gs_project_forward", [&] {
    out = forward_impl<scalar_t>(means, quats, scales, camera<scalar_t>(viewmat, K, width, height));
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> project_backward(
    const at::Tensor& means, const at::Tensor& quats, const at::Tensor& scales, const at::Tensor& viewmat,
    const at::Tensor& K, int64_t width, int64_t height, const at::Tensor& g_means2d, const at::Tensor& g_conics,
    const at::Tensor& g_cov2d, const at::Tensor& g_depths, const at::Tensor& g_comp) {
  check_inputs("project_backward", means, quats, scales);
  const int64_t n = means.size(0);
  for (const auto* g : {&g_means2d, &g_conics, &g_cov2d, &g_depths, &g_comp}) {
    TORCH_CHECK(g->is_contiguous() && g->scalar_type() == means.scalar_type() && g->size(0) == n,
                "project_backward: gradients must be contiguous, of the inputs' dtype, one row per Gaussian");
  }
  std::tuple<at::Tensor, at::Tensor, at::Tensor> out;
  AT_DISPATCH_FLOATING_TYPES(means.scalar_type(), "gs_project_backward", [&] {
    out = backward_impl<scalar_t>(means, quats, scales, camera<scalar_t>(viewmat, K, width, height), g_means2d,
                                  g_conics, g_cov2d, g_depths, g_comp);
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(spaceport_gs, m) {
  m.def("project_forward(Tensor means, Tensor quats, Tensor scales, Tensor viewmat, Tensor K, int width, "
        "int height) -> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)");
  m.def("project_backward(Tensor means, Tensor quats, Tensor scales, Tensor viewmat, Tensor K, int width, "
        "int height, Tensor g_means2d, Tensor g_conics, Tensor g_cov2d, Tensor g_depths, Tensor g_comp) "
        "-> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(spaceport_gs, CPU, m) {
  m.impl("project_forward", &project_forward);
  m.impl("project_backward", &project_backward);
}
