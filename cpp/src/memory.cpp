#include "simdmlp/memory.hpp"

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>

#if defined(__linux__) || defined(__APPLE__)
#include <sys/mman.h>
#define SIMDMLP_MMAP 1
#endif

namespace simdmlp {
namespace {

constexpr std::size_t kHuge = std::size_t(2) << 20;
constexpr std::size_t kHeader = 64;  // the header's room before 64-byte aligned data

// Every buffer starts with a header saying how it was obtained.
struct Header {
  void* base;             // what to munmap/free
  std::size_t map_bytes;  // mapping size (0 for malloc)
  std::size_t capacity;   // usable bytes after the header
};

struct Cache {
  std::mutex mu;
  Header* blocks[kCacheBlocks] = {};
  std::size_t bytes = 0;
};
Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: buffers may be freed at interpreter exit
  return *c;
}

void release(Header* h) {
#if SIMDMLP_MMAP
  if (h->map_bytes) {
    munmap(h->base, h->map_bytes);
    return;
  }
#endif
  std::free(h->base);
}

// From malloc, with the data on a 64-byte boundary (malloc itself gives 16) and the header
// just before it.
void* malloc_aligned(std::size_t bytes) {
  void* base = std::malloc(bytes + kHeader + 63);
  if (!base) return nullptr;
  const std::uintptr_t data = (reinterpret_cast<std::uintptr_t>(base) + kHeader + 63) & ~std::uintptr_t(63);
  auto* h = reinterpret_cast<Header*>(data - kHeader);
  *h = {base, 0, bytes};
  return reinterpret_cast<void*>(data);
}

}  // namespace

void* buffer_alloc(std::size_t bytes) {
  if (bytes < kBigBytes) return malloc_aligned(bytes);
  {  // smallest cached block that fits and is at most twice the request
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    int best = -1;
    for (int i = 0; i < kCacheBlocks; ++i) {
      Header* h = c.blocks[i];
      if (h && h->capacity >= bytes && h->capacity / 2 <= bytes &&
          (best < 0 || h->capacity < c.blocks[best]->capacity))
        best = i;
    }
    if (best >= 0) {
      Header* h = c.blocks[best];
      c.blocks[best] = nullptr;
      c.bytes -= h->capacity;
      return reinterpret_cast<char*>(h) + kHeader;
    }
  }
#if SIMDMLP_MMAP
  // The data starts 2 MiB-aligned; the header sits in the page before it.
  const std::size_t data = (bytes + kHuge - 1) / kHuge * kHuge;
  const std::size_t map_bytes = data + 2 * kHuge;
  void* base = mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return nullptr;
  const std::uintptr_t start = (reinterpret_cast<std::uintptr_t>(base) + kHuge) / kHuge * kHuge;
#if defined(MADV_HUGEPAGE)
  madvise(reinterpret_cast<void*>(start), data, MADV_HUGEPAGE);
#endif
  auto* h = reinterpret_cast<Header*>(start - kHeader);
  *h = {base, map_bytes, data};
  return reinterpret_cast<void*>(start);
#else
  return malloc_aligned(bytes);
#endif
}

void buffer_free(void* p) {
  if (!p) return;
  Header* h = reinterpret_cast<Header*>(static_cast<char*>(p) - kHeader);
  if (h->map_bytes == 0 || h->capacity > kCacheBytes) {
    release(h);
    return;
  }
  Header* evict = nullptr;
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    // Make room: drop the smallest blocks until this one fits the byte budget and a slot.
    while (c.bytes + h->capacity > kCacheBytes || [&] {
             for (Header* b : c.blocks) if (!b) return false;
             return true;
           }()) {
      int victim = -1;
      for (int i = 0; i < kCacheBlocks; ++i)
        if (c.blocks[i] && (victim < 0 || c.blocks[i]->capacity < c.blocks[victim]->capacity)) victim = i;
      if (victim < 0) break;
      Header* v = c.blocks[victim];
      c.blocks[victim] = nullptr;
      c.bytes -= v->capacity;
      release(v);  // munmap under the lock is fine: rare and short
    }
    for (Header*& b : c.blocks) {
      if (!b) {
        b = h;
        c.bytes += h->capacity;
        h = nullptr;
        break;
      }
    }
    evict = h;
  }
  if (evict) release(evict);
}

std::size_t buffer_cache_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.bytes;
}

}  // namespace simdmlp
