// The function-pointer table each ISA fills from activations.def (internal).
#pragma once
#include <cstddef>

#include "simdmlp/activations.hpp"
#include "simdmlp/dispatch.hpp"
#include "simdmlp/rowwise.hpp"

// Forced inlining for the activation functors (op_NAME::fwd / bwd) and the helpers the
// loops call per vector: gcc's heuristics left the larger ones (gelu, mish, softplus,
// gelu_tanh's and silu's derivatives) out of line once a loop had grown, a call per vector
// that reloaded every constant and spilled the other vectors of the unrolled body.
#define SIMDMLP_INLINE inline __attribute__((always_inline))

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

// Defined by the isa_*.cpp files that this architecture compiles (the row-wise and
// optimizer tables too; the GEMM table is declared in gemm/gemm_table.hpp).
namespace detail { struct OptimTable; }
#define SIMDMLP_ISA_TABLES                                   \
  extern const KernelTable table;                            \
  extern const detail::RowKernelTable row_table;             \
  extern const detail::OptimTable optim_table;
namespace scalar { SIMDMLP_ISA_TABLES }
#if defined(__x86_64__) || defined(_M_X64)
#define SIMDMLP_X86 1
namespace avx2 { SIMDMLP_ISA_TABLES }
namespace avx512 { SIMDMLP_ISA_TABLES }
#endif
#if defined(__aarch64__)
#define SIMDMLP_NEON 1
namespace neon { SIMDMLP_ISA_TABLES }
#endif
#undef SIMDMLP_ISA_TABLES

// The table of the current ISA.
const KernelTable& current_kernels();

}  // namespace simdmlp

// The GEMM half of each ISA (cpp/src/gemm/gemm_isa.inc).
#include "gemm/gemm_table.hpp"
// The optimizer steps of each ISA (cpp/src/kernels/optim.inc).
#include "optim_table.hpp"

namespace simdmlp {
struct GemmTable;  // gemm/gemm_table.hpp (may include this header first)
// Every table of one ISA: the one place that maps an Isa to its per-ISA namespace.
struct IsaTables {
  const KernelTable* act;
  const detail::RowKernelTable* row;
  const GemmTable* gemm;
  const detail::OptimTable* optim;
};
const IsaTables& isa_tables(Isa isa);  // dispatch.cpp; isa must be compiled in (else scalar)
}  // namespace simdmlp
