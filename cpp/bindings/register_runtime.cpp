// Runtime controls: ISA selection, threads, build facts, and the machine-limit probes
// the benchmarks use (stream copy/add).
#include <string>

#include "arrays.hpp"
#include "simdmlp/dispatch.hpp"
#include "simdmlp/memory.hpp"
#include "simdmlp/roofline.hpp"
#include "simdmlp/threads.hpp"

namespace simdmlp::bind {
namespace {

// An integer as Python's operator.index takes it (int, np.int64, ...; not bool, not
// float), at least 1; counts above 4096 are capped there.
int checked_threads(const char* fn, py::handle n) {
  const auto type_name = [&] { return std::string(py::str(py::type::handle_of(n).attr("__name__"))); };
  // bool and np.bool_ are ints to Python but never a thread count
  if (py::isinstance<py::bool_>(n) || type_name() == "bool" || !PyIndex_Check(n.ptr()))
    throw py::type_error(std::string(fn) + ": n must be an int, got " + type_name());
  PyObject* idx = PyNumber_Index(n.ptr());
  if (!idx) {
    PyErr_Clear();
    throw py::type_error(std::string(fn) + ": n must be an int, got " + type_name());
  }
  py::int_ v = py::reinterpret_steal<py::int_>(idx);
  int overflow = 0;
  const long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (overflow < 0 || (overflow == 0 && x < 1))
    throw py::value_error(std::string(fn) + ": n must be >= 1, got " + std::string(py::str(v)));
  return overflow > 0 || x > 4096 ? 4096 : int(x);
}

float* f32_buffer(const char* fn, const char* arg, py::handle a, bool writeable) {
  if (!py::isinstance<py::array_t<float>>(a))
    throw py::type_error(std::string(fn) + ": " + arg + " must be a float32 ndarray");
  py::array arr = py::reinterpret_borrow<py::array>(a);
  if (!arr.dtype().equal(py::dtype::of<float>()) || !(arr.flags() & py::array::c_style))
    throw py::value_error(std::string(fn) + ": " + arg + " must be a C-contiguous float32 array");
  return static_cast<float*>(writeable ? arr.mutable_data() : const_cast<void*>(arr.data()));
}

}  // namespace

void register_runtime(py::module_& m) {
  m.def("available_isas", [] {
    py::list l;
    for (Isa isa : supported_isas()) l.append(isa_name(isa));
    return l;
  }, "ISAs this CPU and build support, worst to best, e.g. ['scalar', 'avx2', 'avx512'].");
  m.def("_get_isa", [] { return std::string(isa_name(current_isa())); });
  m.def("_set_isa", [](const std::string& name) {
    Isa isa;
    if (!isa_from_name(name, &isa))
      throw py::value_error("simdmlp.use_isa: unknown ISA '" + name +
                            "' (known: scalar, avx2, avx512, neon)");
    try {
      set_isa(isa);
    } catch (const std::invalid_argument& e) {
      throw py::value_error(std::string("simdmlp.use_isa: ") + e.what());
    }
  });
  m.def("get_num_threads", &get_num_threads, "Threads the kernels may use (>= 1).");
  m.def("set_num_threads", [](py::handle n) { set_num_threads(checked_threads("simdmlp.set_num_threads", n)); },
        py::arg("n"),
        "Set the threads the kernels may use. The default comes from SIMDMLP_NUM_THREADS, "
        "else OMP_NUM_THREADS, else the CPUs this process may run on. Without OpenMP it stays 1.");
  m.def("_default_num_threads", &default_num_threads);
  m.def("_build_info", [] {
    py::dict d;
#if defined(__clang__)
    d["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
    d["compiler"] = std::string("gcc ") + __VERSION__;
#else
    d["compiler"] = "unknown";
#endif
    d["openmp"] = openmp_enabled() ? py::object(py::int_(openmp_version())) : py::object(py::none());
    return d;
  });
  m.def("_buffer_cache_bytes", &buffer_cache_bytes,
        "Bytes of released large result buffers kept for reuse (see cpp/include/simdmlp/memory.hpp).");
  m.def("_stream_copy", [](py::handle dst, py::handle src, int threads) {
    float* d = f32_buffer("_stream_copy", "dst", dst, true);
    const float* s = f32_buffer("_stream_copy", "src", src, false);
    const std::size_t n = std::size_t(py::reinterpret_borrow<py::array>(src).size());
    if (std::size_t(py::reinterpret_borrow<py::array>(dst).size()) != n)
      throw py::value_error("_stream_copy: dst and src differ in size");
    py::gil_scoped_release nogil;
    stream_copy(d, s, n, threads);
  }, py::arg("dst"), py::arg("src"), py::arg("threads"));
  m.def("_stream_add", [](py::handle c, py::handle a, py::handle b, int threads) {
    float* cp = f32_buffer("_stream_add", "c", c, true);
    const float* ap = f32_buffer("_stream_add", "a", a, false);
    const float* bp = f32_buffer("_stream_add", "b", b, false);
    const std::size_t n = std::size_t(py::reinterpret_borrow<py::array>(c).size());
    if (std::size_t(py::reinterpret_borrow<py::array>(a).size()) != n ||
        std::size_t(py::reinterpret_borrow<py::array>(b).size()) != n)
      throw py::value_error("_stream_add: arrays differ in size");
    py::gil_scoped_release nogil;
    stream_add(cp, ap, bp, n, threads);
  }, py::arg("c"), py::arg("a"), py::arg("b"), py::arg("threads"));
}

}  // namespace simdmlp::bind
