// Elementwise driver: picks the current ISA's kernel and splits the array over threads.
#include <cstddef>

#include "kernel_table.hpp"
#include "simdmlp/activations.hpp"
#include "simdmlp/threads.hpp"

namespace simdmlp {

const ActInfo kActInfo[kNumActs] = {
#define SIMDMLP_ACTIVATION(name, cost, np, p0, d0, p1, d1, doc) {#name, cost, np, {p0, p1}, {d0, d1}, doc},
#include "simdmlp/activations.def"
#undef SIMDMLP_ACTIVATION
};

namespace {

// Below these sizes one thread is faster than waking the pool (fork/join costs a few
// microseconds here, more when the host deschedules the second vCPU). Tuned with
// bench/run.py: see the README's "Threads" section.
constexpr std::size_t kMinParallelCheap = std::size_t(1) << 17;  // select/min/max ops
constexpr std::size_t kMinParallelExp = std::size_t(1) << 14;    // exp-class ops
constexpr std::size_t kChunkAlign = 64;  // elements; keeps chunk starts on cache lines

int threads_for(Act op, std::size_t n) {
  const std::size_t min_n = kActInfo[int(op)].cost == 0 ? kMinParallelCheap : kMinParallelExp;
  if (n < min_n) return 1;
  const int nt = get_num_threads();
  const std::size_t max_useful = n / (min_n / 2);
  return max_useful < std::size_t(nt) ? int(max_useful) : nt;
}

template <class T, class Fwd>
void run_fwd(Act op, Fwd fn, const T* x, T* y, std::size_t n, const ActParams<T>& p) {
  parallel_chunks(n, threads_for(op, n), kChunkAlign,
                  [&](std::size_t b, std::size_t e) { fn(x + b, y + b, e - b, p); });
}

template <class T, class Bwd>
void run_bwd(Act op, Bwd fn, const T* dy, const T* x, T* dx, std::size_t n, const ActParams<T>& p) {
  parallel_chunks(n, threads_for(op, n), kChunkAlign,
                  [&](std::size_t b, std::size_t e) { fn(dy + b, x + b, dx + b, e - b, p); });
}

}  // namespace

void activation_forward(Act op, const float* x, float* y, std::size_t n, ActParams<float> p) {
  run_fwd(op, current_kernels().fwd_f32[int(op)], x, y, n, p);
}
void activation_forward(Act op, const double* x, double* y, std::size_t n, ActParams<double> p) {
  run_fwd(op, current_kernels().fwd_f64[int(op)], x, y, n, p);
}
void activation_backward(Act op, const float* dy, const float* x, float* dx, std::size_t n,
                         ActParams<float> p) {
  run_bwd(op, current_kernels().bwd_f32[int(op)], dy, x, dx, n, p);
}
void activation_backward(Act op, const double* dy, const double* x, double* dx, std::size_t n,
                         ActParams<double> p) {
  run_bwd(op, current_kernels().bwd_f64[int(op)], dy, x, dx, n, p);
}

}  // namespace simdmlp
