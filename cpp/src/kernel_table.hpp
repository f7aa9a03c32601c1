// The function-pointer table each ISA fills from activations.def (internal).
#pragma once
#include <cstddef>

#include "simdmlp/activations.hpp"
#include "simdmlp/dispatch.hpp"

namespace simdmlp {

template <class T>
using ActFwdFn = void (*)(const T* x, T* y, std::size_t n, const ActParams<T>& p);
template <class T>
using ActBwdFn = void (*)(const T* dy, const T* x, T* dx, std::size_t n, const ActParams<T>& p);

struct KernelTable {
  ActFwdFn<float> fwd_f32[kNumActs];
  ActFwdFn<double> fwd_f64[kNumActs];
  ActBwdFn<float> bwd_f32[kNumActs];
  ActBwdFn<double> bwd_f64[kNumActs];
};

// Defined by the isa_*.cpp files that this architecture compiles.
namespace scalar { extern const KernelTable table; }
#if defined(__x86_64__) || defined(_M_X64)
#define SIMDMLP_X86 1
namespace avx2 { extern const KernelTable table; }
namespace avx512 { extern const KernelTable table; }
#endif
#if defined(__aarch64__)
#define SIMDMLP_NEON 1
namespace neon { extern const KernelTable table; }
#endif

// The table of the current ISA.
const KernelTable& current_kernels();

}  // namespace simdmlp

// The GEMM half of each ISA (cpp/src/gemm/gemm_isa.inc).
#include "gemm/gemm_table.hpp"
// The optimizer steps of each ISA (cpp/src/kernels/optim.inc).
#include "optim_table.hpp"
