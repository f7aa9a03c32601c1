#include "simdmlp/threads.hpp"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif
#include <pthread.h>

namespace simdmlp {
namespace {

std::atomic<bool> g_forked_child{false};
std::atomic<bool> g_pool_started{false};
std::atomic<int> g_num_threads{0};  // 0 = not yet read from the environment
std::once_flag g_atfork_once;

// libgomp's thread pool does not survive fork(): a child that enters a parallel region
// after the parent started the pool hangs. Such a child runs everything serially.
void on_fork_child() {
  if (g_pool_started.load(std::memory_order_relaxed)) g_forked_child.store(true, std::memory_order_relaxed);
}

int env_positive_int(const char* name) {
  const char* s = std::getenv(name);
  if (!s || !*s) return 0;
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);  // OMP_NUM_THREADS may be a list "4,2": take the first
  if (end == s || v < 1) return 0;
  return v > 4096 ? 4096 : int(v);
}

int cpu_count() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n ? int(n) : 1;
}

}  // namespace

int default_num_threads() {
  std::call_once(g_atfork_once, [] { pthread_atfork(nullptr, nullptr, on_fork_child); });
  if (int n = env_positive_int("SIMDMLP_NUM_THREADS")) return n;
  if (int n = env_positive_int("OMP_NUM_THREADS")) return n;
  return cpu_count();
}

int get_num_threads() {
  int n = g_num_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    n = openmp_enabled() ? default_num_threads() : 1;
    g_num_threads.store(n, std::memory_order_relaxed);
  }
  return n;
}

void set_num_threads(int n) {
  std::call_once(g_atfork_once, [] { pthread_atfork(nullptr, nullptr, on_fork_child); });
  g_num_threads.store(openmp_enabled() ? (n < 1 ? 1 : n) : 1, std::memory_order_relaxed);
}

bool openmp_enabled() {
#if defined(_OPENMP)
  return true;
#else
  return false;
#endif
}

int openmp_version() {
#if defined(_OPENMP)
  return _OPENMP;
#else
  return 0;
#endif
}

bool in_forked_child() { return g_forked_child.load(std::memory_order_relaxed); }

void note_pool_started() {
  if (!g_pool_started.load(std::memory_order_relaxed)) g_pool_started.store(true, std::memory_order_relaxed);
}

}  // namespace simdmlp
