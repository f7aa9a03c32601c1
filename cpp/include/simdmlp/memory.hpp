// Large result buffers. A fresh 4 KiB page costs about 2 us to fault on the development
// machine, so a new 64 MiB output costs more than the kernel that fills it. Buffers of
// kBigBytes and up are therefore
//   * mapped 2 MiB-aligned with MADV_HUGEPAGE (one fault per 2 MiB where THP allows), and
//   * kept after release in a small cache (at most kCacheBlocks blocks, kCacheBytes in
//     all) and handed out again to a later request of a similar size, already faulted in.
// Smaller buffers come from malloc. Every buffer starts on a 64-byte boundary. Thread-safe.
// Contents are uninitialised (np.empty).
#pragma once
#include <cstddef>

namespace simdmlp {

constexpr std::size_t kBigBytes = std::size_t(4) << 20;
constexpr int kCacheBlocks = 4;
constexpr std::size_t kCacheBytes = std::size_t(512) << 20;

void* buffer_alloc(std::size_t bytes);  // nullptr when out of memory
void buffer_free(void* p);             // p from buffer_alloc, or nullptr
// Bytes currently held by the cache (for tests and info).
std::size_t buffer_cache_bytes();

}  // namespace simdmlp
