// Optimizer steps (contract: simdmlp/optim.hpp): the constants, the threads, and the
// current ISA's fused kernel (kernels/optim.inc) on each thread's chunk. Each step is
// memory bound (3-4 arrays read, 2-3 written per element) once its divisions and square
// roots run on full-width vectors.
#include "simdmlp/optim.hpp"

#include <cmath>

#include "kernel_table.hpp"
#include "simdmlp/dispatch.hpp"
#include "simdmlp/threads.hpp"

namespace simdmlp {

namespace {

constexpr std::size_t kMinParallel = std::size_t(1) << 16;

template <class T> const detail::OptimKernels<T>& kernels();
template <> const detail::OptimKernels<float>& kernels<float>() { return isa_tables(current_isa()).optim->f32; }
template <> const detail::OptimKernels<double>& kernels<double>() { return isa_tables(current_isa()).optim->f64; }

// f(lo, hi) over chunks of [0, n) on the threads (chunk edges on whole cache lines).
template <class F>
void run(std::size_t n, F&& f) {
  parallel_chunks(n, n < kMinParallel ? 1 : get_num_threads(), 64, f);
}

}  // namespace

template <class T>
void sgd_step(T* p, const T* g, T* buf, std::size_t n, const SgdParams& a) {
  const detail::SgdConsts<T> c{T(a.lr), T(a.momentum), T(1 - a.dampening), T(a.weight_decay),
                               a.weight_decay != 0, buf != nullptr, a.first, a.nesterov};
  const auto k = kernels<T>().sgd;
  run(n, [&](std::size_t lo, std::size_t hi) { k(p + lo, g + lo, buf ? buf + lo : nullptr, hi - lo, c); });
}

template <class T>
void adam_step(T* p, const T* g, T* m, T* v, std::size_t n, const AdamParams& a) {
  const double bc1 = 1 - std::pow(a.beta1, double(a.step));
  const double bc2 = 1 - std::pow(a.beta2, double(a.step));
  const T w1 = T(1 - a.beta1);
  // torch: bias_correction2 ** 0.5 (C pow, which may differ from sqrt by an ulp); lerp
  // computes 1 - weight in the tensor's dtype
  const detail::AdamConsts<T> c{w1, T(1) - w1, T(a.beta2), T(1 - a.beta2), T(a.eps), T(a.lr / bc1),
                                T(std::pow(bc2, 0.5)), T(a.weight_decay), T(1 - a.lr * a.weight_decay),
                                a.weight_decay != 0, a.decoupled, w1 >= T(0.5)};
  const auto k = kernels<T>().adam;
  run(n, [&](std::size_t lo, std::size_t hi) { k(p + lo, g + lo, m + lo, v + lo, hi - lo, c); });
}

template <class T>
void rmsprop_step(T* p, const T* g, T* sq, T* gavg, T* buf, std::size_t n, const RmspropParams& a) {
  const T w = T(1 - a.alpha);
  const detail::RmspropConsts<T> c{T(a.alpha), w, T(1) - w, T(a.eps), T(a.weight_decay), T(a.lr), T(a.momentum),
                                   a.weight_decay != 0, a.centered, w >= T(0.5), a.momentum > 0};
  const auto k = kernels<T>().rmsprop;
  run(n, [&](std::size_t lo, std::size_t hi) {
    k(p + lo, g + lo, sq + lo, gavg ? gavg + lo : nullptr, buf ? buf + lo : nullptr, hi - lo, c);
  });
}

template <class T>
void adagrad_step(T* p, const T* g, T* sum, std::size_t n, const AdagradParams& a) {
  const detail::AdagradConsts<T> c{T(a.lr / (1 + double(a.step - 1) * a.lr_decay)), T(a.eps), T(a.weight_decay),
                                   a.weight_decay != 0};
  const auto k = kernels<T>().adagrad;
  run(n, [&](std::size_t lo, std::size_t hi) { k(p + lo, g + lo, sum + lo, hi - lo, c); });
}

#define SIMDMLP_OPTIM_INSTANTIATE(T)                                                                 \
  template void sgd_step<T>(T*, const T*, T*, std::size_t, const SgdParams&);                        \
  template void adam_step<T>(T*, const T*, T*, T*, std::size_t, const AdamParams&);                  \
  template void rmsprop_step<T>(T*, const T*, T*, T*, T*, std::size_t, const RmspropParams&);        \
  template void adagrad_step<T>(T*, const T*, T*, std::size_t, const AdagradParams&);
SIMDMLP_OPTIM_INSTANTIATE(float)
SIMDMLP_OPTIM_INSTANTIATE(double)

}  // namespace simdmlp
