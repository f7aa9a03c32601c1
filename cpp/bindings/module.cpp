// simdmlp._core: a list of register_*() calls; each lives in its own register_*.cpp.
#include <pybind11/pybind11.h>

#include "simdmlp/threads.hpp"

namespace py = pybind11;

namespace simdmlp::bind {
void register_runtime(py::module_& m);
void register_activations(py::module_& m);
void register_rowwise(py::module_& m);
void register_sweep(py::module_& m);
void register_optim(py::module_& m);
void register_gemm(py::module_& m);
}  // namespace simdmlp::bind

#ifndef SIMDMLP_VERSION
#define SIMDMLP_VERSION "0+unknown"
#endif

PYBIND11_MODULE(_core, m) {
  m.doc() = "simdmlp native kernels (see the simdmlp package for the documented API)";
  m.attr("__version__") = SIMDMLP_VERSION;
  simdmlp::get_num_threads();  // reads the environment and installs the fork handler
  simdmlp::bind::register_runtime(m);
  simdmlp::bind::register_activations(m);
  simdmlp::bind::register_rowwise(m);
  simdmlp::bind::register_sweep(m);
  simdmlp::bind::register_optim(m);
  simdmlp::bind::register_gemm(m);
}
