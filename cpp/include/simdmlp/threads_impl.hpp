#pragma once
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace simdmlp {

template <class F>
void parallel_chunks(std::size_t n, int threads, std::size_t align, F&& f) {
  if (threads <= 1 || n <= align || in_forked_child()) {
    if (n) f(std::size_t(0), n);
    return;
  }
  const std::size_t blocks = (n + align - 1) / align;
  const std::size_t parts = blocks < std::size_t(threads) ? blocks : std::size_t(threads);
  note_pool_started();
#if defined(_OPENMP)
#pragma omp parallel for num_threads(int(parts)) schedule(static, 1)
#endif
  for (long t = 0; t < long(parts); ++t) {
    const std::size_t b0 = blocks * std::size_t(t) / parts;
    const std::size_t b1 = blocks * std::size_t(t + 1) / parts;
    const std::size_t lo = b0 * align;
    const std::size_t hi = b1 * align < n ? b1 * align : n;
    if (lo < hi) f(lo, hi);
  }
}

}  // namespace simdmlp
