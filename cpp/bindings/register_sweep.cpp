// _core._ulp_sweep: the native accuracy sweep behind bench/sweep_ulp.py (a test tool).
#include <string>

#include <pybind11/stl.h>

#include "arrays.hpp"
#include "simdmlp/sweep.hpp"

namespace simdmlp::bind {

void register_sweep(py::module_& m) {
  m.def("_ulp_sweep", [](const std::string& name, bool backward, double p0, double p1, std::uint64_t begin,
                         std::uint64_t end, std::uint64_t stride, double bound, const std::vector<std::string>& isa_names) {
    int op = -1;
    for (int i = 0; i < kNumActs; ++i) if (name == kActInfo[i].name) op = i;
    if (op < 0) throw py::value_error("_ulp_sweep: unknown elementwise activation '" + name + "'");
    if (stride == 0) throw py::value_error("_ulp_sweep: stride must be >= 1");
    if (end > (std::uint64_t(1) << 32)) throw py::value_error("_ulp_sweep: end must be <= 2^32");
    std::vector<Isa> isas;
    for (const std::string& s : isa_names) {
      Isa isa;
      bool ok = isa_from_name(s, &isa);
      if (ok) {
        ok = false;
        for (Isa have : supported_isas()) ok = ok || have == isa;
      }
      if (!ok) throw py::value_error("_ulp_sweep: ISA '" + s + "' is not available here");
      isas.push_back(isa);
    }
    std::vector<SweepResult> rs;
    {
      py::gil_scoped_release nogil;
      rs = ulp_sweep(Act(op), backward, {p0, p1}, begin, end, stride, bound, isas);
    }
    py::dict out;
    for (std::size_t j = 0; j < rs.size(); ++j) {
      const SweepResult& r = rs[j];
      py::dict d;
      d["max_err"] = r.max_err;
      d["worst_bits"] = r.worst;
      d["tested"] = r.tested;
      d["over"] = r.over;
      d["nan_mismatch"] = r.nan_mismatch;
      d["first_mismatch_bits"] = r.first_mismatch;
      out[py::str(isa_names[j])] = d;
    }
    return out;
  }, py::arg("name"), py::arg("backward"), py::arg("p0"), py::arg("p1"), py::arg("begin"), py::arg("end"),
     py::arg("stride"), py::arg("bound"), py::arg("isas"),
     "Sweep float32 patterns begin, begin+stride, ... < end through an elementwise activation on each\n"
     "ISA against a double reference; returns {isa: {max_err, worst_bits, tested, over, ...}}.");
}

}  // namespace simdmlp::bind
