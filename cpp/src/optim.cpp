// Optimizer steps (contract: simdmlp/optim.hpp). Plain loops: each is memory bound
// (3-4 arrays read, 2-3 written per element), and the baseline ISA's SIMD vectorises them.
#include "simdmlp/optim.hpp"

#include <cmath>

#include "simdmlp/threads.hpp"

namespace simdmlp {
namespace {

constexpr std::size_t kMinParallel = std::size_t(1) << 16;

template <class F>
void run(std::size_t n, F&& f) {
  parallel_chunks(n, n < kMinParallel ? 1 : get_num_threads(), 64, f);
}

// torch.lerp(start, end, w) exactly as torch computes it: start + w (end - start) for
// w < 0.5, else end - (end - start)(1 - w), so running averages match bit for bit.
template <class T>
inline T lerp(T start, T end, T w, T one_minus_w, bool upper) {
  return upper ? end - (end - start) * one_minus_w : start + w * (end - start);
}

}  // namespace

template <class T>
void sgd_step(T* p, const T* g, T* buf, std::size_t n, const SgdParams& a) {
  const T lr = T(a.lr), mom = T(a.momentum), damp1 = T(1 - a.dampening), wd = T(a.weight_decay);
  run(n, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) {
      T d = a.weight_decay != 0 ? g[i] + wd * p[i] : g[i];
      if (buf) {
        const T b = a.first ? d : mom * buf[i] + damp1 * d;
        buf[i] = b;
        d = a.nesterov ? d + mom * b : b;
      }
      p[i] = p[i] - lr * d;
    }
  });
}

template <class T>
void adam_step(T* p, const T* g, T* m, T* v, std::size_t n, const AdamParams& a) {
  const double bc1 = 1 - std::pow(a.beta1, double(a.step));
  const double bc2 = 1 - std::pow(a.beta2, double(a.step));
  const T w1 = T(1 - a.beta1), w1c = T(1) - w1, b2 = T(a.beta2), w2 = T(1 - a.beta2), eps = T(a.eps);
  const bool upper = w1 >= T(0.5);
  // torch takes bias_correction2 ** 0.5 (C pow, which may differ from sqrt by an ulp)
  const T step_size = T(a.lr / bc1), bc2_sqrt = T(std::pow(bc2, 0.5));
  const T wd = T(a.weight_decay), shrink = T(1 - a.lr * a.weight_decay);
  run(n, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) {
      T pi = p[i], gi = g[i];
      if (a.weight_decay != 0) {
        if (a.decoupled) pi = pi * shrink;
        else gi = gi + wd * pi;
      }
      const T mi = lerp(m[i], gi, w1, w1c, upper);
      const T vi = v[i] * b2 + (w2 * gi) * gi;
      m[i] = mi;
      v[i] = vi;
      const T denom = std::sqrt(vi) / bc2_sqrt + eps;
      p[i] = pi - step_size * (mi / denom);
    }
  });
}

template <class T>
void rmsprop_step(T* p, const T* g, T* sq, T* gavg, T* buf, std::size_t n, const RmspropParams& a) {
  const T alpha = T(a.alpha), w = T(1 - a.alpha), wc = T(1) - w, eps = T(a.eps), wd = T(a.weight_decay);
  const bool upper = w >= T(0.5);
  const T lr = T(a.lr), mom = T(a.momentum);
  run(n, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) {
      const T gi = a.weight_decay != 0 ? g[i] + wd * p[i] : g[i];
      const T s = sq[i] * alpha + (w * gi) * gi;
      sq[i] = s;
      T avg;
      if (a.centered) {
        const T ga = lerp(gavg[i], gi, w, wc, upper);
        gavg[i] = ga;
        avg = std::sqrt(s - ga * ga) + eps;
      } else {
        avg = std::sqrt(s) + eps;
      }
      if (a.momentum > 0) {
        const T b = buf[i] * mom + gi / avg;
        buf[i] = b;
        p[i] = p[i] - lr * b;
      } else {
        p[i] = p[i] - lr * (gi / avg);
      }
    }
  });
}

template <class T>
void adagrad_step(T* p, const T* g, T* sum, std::size_t n, const AdagradParams& a) {
  const T clr = T(a.lr / (1 + double(a.step - 1) * a.lr_decay)), eps = T(a.eps), wd = T(a.weight_decay);
  run(n, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) {
      const T gi = a.weight_decay != 0 ? g[i] + wd * p[i] : g[i];
      const T s = sum[i] + gi * gi;
      sum[i] = s;
      p[i] = p[i] - clr * (gi / (std::sqrt(s) + eps));
    }
  });
}

#define SIMDMLP_OPTIM_INSTANTIATE(T)                                                                 \
  template void sgd_step<T>(T*, const T*, T*, std::size_t, const SgdParams&);                        \
  template void adam_step<T>(T*, const T*, T*, T*, std::size_t, const AdamParams&);                  \
  template void rmsprop_step<T>(T*, const T*, T*, T*, T*, std::size_t, const RmspropParams&);        \
  template void adagrad_step<T>(T*, const T*, T*, std::size_t, const AdagradParams&);
SIMDMLP_OPTIM_INSTANTIATE(float)
SIMDMLP_OPTIM_INSTANTIATE(double)

}  // namespace simdmlp
