// The optimizer kernels' per-ISA table (internal; contract: simdmlp/optim.hpp). optim.cpp
// turns the hyper-parameters into these constants (rounded to the array's dtype, as
// PyTorch applies Python scalars) and splits the arrays among threads; the kernels
// (kernels/optim.inc) run one fused pass per chunk on the current ISA's vectors. Every
// operation is an IEEE add, mul, div or sqrt (never fused), so every ISA and every split
// gives the same bits.
#pragma once
#include <cstddef>

namespace simdmlp::detail {

template <class T>
struct SgdConsts {
  T lr, momentum, damp1, wd;
  bool has_wd, has_buf, first, nesterov;
};
template <class T>
struct AdamConsts {
  T w1, w1c, b2, w2, eps, step_size, bc2_sqrt, wd, shrink;
  bool has_wd, decoupled, upper;
};
template <class T>
struct RmspropConsts {
  T alpha, w, wc, eps, wd, lr, momentum;
  bool has_wd, centered, upper, has_momentum;
};
template <class T>
struct AdagradConsts {
  T clr, eps, wd;
  bool has_wd;
};

template <class T>
struct OptimKernels {
  void (*sgd)(T* p, const T* g, T* buf, std::size_t n, const SgdConsts<T>& c);
  void (*adam)(T* p, const T* g, T* m, T* v, std::size_t n, const AdamConsts<T>& c);
  void (*rmsprop)(T* p, const T* g, T* sq, T* gavg, T* buf, std::size_t n, const RmspropConsts<T>& c);
  void (*adagrad)(T* p, const T* g, T* sum, std::size_t n, const AdagradConsts<T>& c);
};

struct OptimTable {
  OptimKernels<float> f32;
  OptimKernels<double> f64;
};

}  // namespace simdmlp::detail
