#include "simdmlp/dispatch.hpp"

#include <atomic>
#include <stdexcept>

#include "kernel_table.hpp"

namespace simdmlp {
namespace {

bool cpu_has(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return true;
#if defined(SIMDMLP_X86)
    // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("bmi2");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("bmi2");
#endif
#if defined(SIMDMLP_NEON)
    case Isa::neon:
      return true;
#endif
    default:
      return false;
  }
}

const KernelTable* table_of(Isa isa) { return isa_tables(isa).act; }

std::atomic<const KernelTable*> g_table{nullptr};
std::atomic<int> g_isa{-1};

void ensure_init() {
  if (g_isa.load(std::memory_order_acquire) < 0) {
    const Isa best = best_isa();
    g_table.store(table_of(best), std::memory_order_relaxed);
    g_isa.store(int(best), std::memory_order_release);
  }
}

}  // namespace

const IsaTables& isa_tables(Isa isa) {
#define SIMDMLP_TABLES_OF(ns) {&ns::table, &ns::row_table, &ns::gemm_table, &ns::optim_table}
  static const IsaTables scalar_tables = SIMDMLP_TABLES_OF(scalar);
  switch (isa) {
#if defined(SIMDMLP_X86)
    case Isa::avx2: {
      static const IsaTables t = SIMDMLP_TABLES_OF(avx2);
      return t;
    }
    case Isa::avx512: {
      static const IsaTables t = SIMDMLP_TABLES_OF(avx512);
      return t;
    }
#endif
#if defined(SIMDMLP_NEON)
    case Isa::neon: {
      static const IsaTables t = SIMDMLP_TABLES_OF(neon);
      return t;
    }
#endif
    default: return scalar_tables;
  }
#undef SIMDMLP_TABLES_OF
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::neon: return "neon";
  }
  return "?";
}

bool isa_from_name(const std::string& name, Isa* out) {
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon}) {
    if (name == isa_name(isa)) {
      *out = isa;
      return true;
    }
  }
  return false;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> v;
#if defined(SIMDMLP_X86)
  __builtin_cpu_init();
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512})
    if (cpu_has(isa)) v.push_back(isa);
#elif defined(SIMDMLP_NEON)
  v = {Isa::scalar, Isa::neon};
#else
  v = {Isa::scalar};
#endif
  return v;
}

Isa best_isa() { return supported_isas().back(); }

Isa current_isa() {
  ensure_init();
  return Isa(g_isa.load(std::memory_order_acquire));
}

void set_isa(Isa isa) {
  for (Isa s : supported_isas()) {
    if (s == isa) {
      g_table.store(table_of(isa), std::memory_order_release);
      g_isa.store(int(isa), std::memory_order_release);
      return;
    }
  }
  std::string have;
  for (Isa s : supported_isas()) have += std::string(have.empty() ? "" : ", ") + isa_name(s);
  throw std::invalid_argument(std::string("ISA '") + isa_name(isa) +
                              "' is not supported by this CPU or build (available: " + have + ")");
}

int isa_vector_bytes(Isa isa) {
  switch (isa) {
    case Isa::avx2: return 32;
    case Isa::avx512: return 64;
    case Isa::neon: return 16;
    default: return 0;
  }
}

// The table of any supported ISA (tools that compare ISAs in one pass, e.g. sweep.cpp).
const KernelTable& kernels_for(Isa isa) { return *table_of(isa); }

const KernelTable& current_kernels() {
  ensure_init();
  return *g_table.load(std::memory_order_acquire);
}

}  // namespace simdmlp
