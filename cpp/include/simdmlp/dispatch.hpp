// Run-time ISA selection. Every kernel is compiled once per ISA (per-ISA namespaces in
// cpp/src/isa_*.cpp); the process-wide current ISA picks which copy runs. It starts at
// the best ISA this CPU supports, or at $SIMDMLP_ISA when set.
#pragma once
#include <string>
#include <vector>

namespace simdmlp {

enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2, neon = 3 };

const char* isa_name(Isa isa);
// Parse a name; returns false for an unknown name.
bool isa_from_name(const std::string& name, Isa* out);
// ISAs compiled into this build *and* supported by this CPU/OS, worst to best.
std::vector<Isa> supported_isas();
Isa best_isa();
Isa current_isa();
// Throws std::invalid_argument if `isa` is not in supported_isas().
void set_isa(Isa isa);
// Vector width in bytes of an ISA (scalar: the element size is used, reported as 0).
int isa_vector_bytes(Isa isa);

}  // namespace simdmlp
