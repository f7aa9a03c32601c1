// NEON kernels (aarch64 only; NEON is that architecture's baseline, so no target
// pragma is needed). On other architectures this file compiles to nothing.
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <cstring>

#include "kernel_table.hpp"

#if defined(SIMDMLP_NEON)
#include <arm_neon.h>

namespace simdmlp::neon {
#include "simd/vec_neon.inc"
#include "simd/math.inc"
#include "kernels/activations.inc"
#include "kernels/optim.inc"
#include "simd/fill_table.inc"
#include "gemm/gemm_isa.inc"
}  // namespace simdmlp::neon
#endif
