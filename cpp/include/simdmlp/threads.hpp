// Threads: one OpenMP level, never nested. Work below a size threshold runs on the
// calling thread. After fork() the child runs everything serially, because libgomp's
// pool does not survive fork (notes/gemm.md 4.2) and would hang.
#pragma once
#include <cstddef>

namespace simdmlp {

// Default: $SIMDMLP_NUM_THREADS, else $OMP_NUM_THREADS, else the CPUs this process may use.
int default_num_threads();
int get_num_threads();
void set_num_threads(int n);  // n >= 1
bool openmp_enabled();
int openmp_version();          // _OPENMP (yyyymm) or 0
bool in_forked_child();
void note_pool_started();  // called before the first parallel region

// Split [0, n) into `parts` contiguous chunks whose starts are multiples of `align`
// elements, and call f(begin, end) for each, on up to `threads` threads.
// The split depends only on n, parts and align, never on scheduling.
template <class F>
void parallel_chunks(std::size_t n, int threads, std::size_t align, F&& f);

}  // namespace simdmlp

#include "simdmlp/threads_impl.hpp"
