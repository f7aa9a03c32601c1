// Scalar kernels: one lane, baseline ISA, always compiled. The readable reference of
// every vector algorithm and the fallback on any CPU.
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <cstring>

#include "kernel_table.hpp"

namespace simdmlp::scalar {
#include "simd/vec_scalar.inc"
#include "simd/math.inc"
#include "kernels/activations.inc"
#include "kernels/optim.inc"
#include "simd/fill_table.inc"
#include "gemm/gemm_isa.inc"
}  // namespace simdmlp::scalar
