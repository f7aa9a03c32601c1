// Elementwise activations: the math contract of every kernel.
//
// Forward   y[i]  = f(x[i])                 for i in [0, n)
// Backward  dx[i] = dy[i] * f'(x[i])        (one IEEE multiply; f'(NaN) = NaN;
//                                            identity's backward returns dy itself)
// Pointers address contiguous arrays of n elements. In place is allowed (y == x, or
// dx == dy or dx == x); partially overlapping arrays are not. Results do not depend on
// n, alignment, the position of an element or the thread count (tails run the same
// vector code as the body, through masked loads).
// Accuracy: see each entry's doc in activations.def and SPEC.md's bounds.
#pragma once
#include <cstddef>

#include "simdmlp/rowwise.hpp"

namespace simdmlp {

enum class Act : int {
#define SIMDMLP_ACTIVATION(name, ...) name,
#include "simdmlp/activations.def"
#undef SIMDMLP_ACTIVATION
};

constexpr int kNumActs = 0
#define SIMDMLP_ACTIVATION(name, ...) + 1
#include "simdmlp/activations.def"
#undef SIMDMLP_ACTIVATION
    ;

// Scalar parameters of an activation, already converted to the input's dtype.
template <class T>
struct ActParams {
  T p0 = 0;
  T p1 = 0;
};

struct ActInfo {
  const char* name;
  int cost;  // 0 = select/min/max, 1 = exp-class
  int nparams;
  const char* param_name[2];
  double param_default[2];
  const char* doc;
};

// Indexed by Act.
extern const ActInfo kActInfo[kNumActs];

// Entry points: run on the current ISA (dispatch.hpp) and on up to get_num_threads()
// OpenMP threads when n is large enough. Thread-safe; no global scratch.
void activation_forward(Act op, const float* x, float* y, std::size_t n, ActParams<float> p);
void activation_forward(Act op, const double* x, double* y, std::size_t n, ActParams<double> p);
void activation_backward(Act op, const float* dy, const float* x, float* dx, std::size_t n,
                         ActParams<float> p);
void activation_backward(Act op, const double* dy, const double* x, double* dx, std::size_t n,
                         ActParams<double> p);

}  // namespace simdmlp
