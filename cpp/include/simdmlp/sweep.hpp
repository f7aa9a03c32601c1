// Accuracy sweep over float32 bit patterns (a test tool, used by bench/sweep_ulp.py):
// runs an activation's float32 kernel on the given ISAs over the patterns
// begin, begin + stride, ... < end (plus nothing else), compares with a double-precision
// reference of the same function (sweep.cpp: plain <cmath> formulas, correct to far
// below a float32 ulp), and reports the worst error.
//   forward:  err = |got - ref| / ulp32(ref)      (ulp32: float32 spacing at |ref|, 2^-149 at 0)
//   backward (grad_output = 1): err = |got - d| / (8 ulp32(d) + 2^-22)   (SPEC's bound, <= 1)
// NaN must match NaN and infinities must be equal; a mismatch counts as a failure.
#pragma once
#include <cstdint>

#include <vector>

#include "simdmlp/activations.hpp"
#include "simdmlp/dispatch.hpp"

namespace simdmlp {

struct SweepResult {
  double max_err = 0;          // worst error as defined above
  std::uint32_t worst = 0;     // its bit pattern
  std::uint64_t tested = 0;
  std::uint64_t over = 0;      // inputs over `bound`
  std::uint64_t nan_mismatch = 0;
  std::uint32_t first_mismatch = 0;
};

// Every ISA in `isas` is checked against one reference evaluation (results[i] for isas[i]).
// Threads: get_num_threads(). The results do not depend on the thread count.
std::vector<SweepResult> ulp_sweep(Act op, bool backward, ActParams<double> params, std::uint64_t begin,
                                   std::uint64_t end, std::uint64_t stride, double bound,
                                   const std::vector<Isa>& isas);

}  // namespace simdmlp
