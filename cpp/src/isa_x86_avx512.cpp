// AVX-512 (F, BW, DQ, VL) kernels. Only the code inside the target region uses AVX-512; everything
// outside (headers, the standard library) stays at the baseline ISA, and every symbol
// defined here lives in namespace simdmlp::avx512, so no inline function or template
// instantiation can leak AVX-512 code into the baseline path (notes/gemm.md 5.1).
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernel_table.hpp"

#if defined(SIMDMLP_X86)
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi2")
#endif

namespace simdmlp::avx512 {
#include "simd/vec_avx512.inc"
#include "simd/math.inc"
#include "kernels/activations.inc"
#include "kernels/optim.inc"
#include "simd/fill_table.inc"
#include "gemm/gemm_isa.inc"
}  // namespace simdmlp::avx512

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // SIMDMLP_X86
