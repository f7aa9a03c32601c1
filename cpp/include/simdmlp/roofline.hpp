// The machine's own limits, measured by the benchmarks in the same run as the kernels:
// streaming copy (1 read + 1 write) and add (2 reads + 1 write) over float32 arrays on a
// given number of threads, split exactly as the elementwise kernels split their work.
#pragma once
#include <cstddef>

namespace simdmlp {

void stream_copy(float* dst, const float* src, std::size_t n, int threads);
void stream_add(float* c, const float* a, const float* b, std::size_t n, int threads);

}  // namespace simdmlp
