// Argument conversion and checking shared by every binding (pybind11 only, no math).
//
// Inputs are converted as np.asarray would, then to a native float dtype:
//   float32/float64 -> as is; ints and bools -> float64; float16 -> float32 (the result is
//   returned as float16); anything else -> TypeError naming the function and the dtype.
// Non-contiguous inputs are copied to C order (the kernels read contiguous memory).
// out= is never converted: it must be an ndarray of the result's shape and dtype,
// C-contiguous and writeable, else ValueError/TypeError before anything is written.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

namespace simdmlp::bind {
namespace py = pybind11;

enum class Dt { f32, f64 };

// An empty py::array handle. (py::array's default constructor allocates a 0-size NumPy
// array: four of those per call were a fifth of a 1-element call's time.)
inline py::array no_array() { return py::reinterpret_steal<py::array>(py::handle()); }

struct FloatArray {
  py::array arr = no_array();  // C-contiguous, native float32 or float64
  Dt dt = Dt::f64;
  bool half = false;  // the caller passed float16: return float16
  py::dtype orig_dtype;  // as passed, for messages
};

std::string shape_str(const py::array& a);
std::string dtype_str(const py::array& a);

// A new uninitialised C-contiguous array; large ones come from simdmlp's buffer cache
// (memory.hpp: huge pages, reused without new page faults).
py::array new_array(const py::dtype& dt, const std::vector<py::ssize_t>& shape);

// Convert argument `arg` of function `fn` (for messages: "simdmlp.relu").
// contiguous=false keeps a float32/float64 array's strides (a view is not copied; the
// GEMM reads any strides), copying only when a stride is not a multiple of the itemsize.
FloatArray to_float_array(const char* fn, const char* arg, py::handle obj, bool contiguous = true);

// Backward arguments: grad_output and x must match exactly in shape (ValueError naming
// both shapes) and in dtype after conversion (TypeError).
void check_same_shape_dtype(const char* fn, const FloatArray& g, const FloatArray& x);

// Make `a` not share memory with `other` unless it is the very same buffer (same data
// pointer): a partially overlapping out= would otherwise read what it already wrote.
void detach_if_overlapping(FloatArray& a, const py::array& other);

// Result of dtype `dt` (float16 when `half`) and the shape of `like`: either `out`,
// checked, or a new array. `compute` is where the kernel writes: the result itself, or a
// float32 scratch array when the result is float16 (copied back by finish()).
struct Result {
  py::array result = no_array();
  py::array compute = no_array();
  bool half = false;
  py::object finish();
};
// `arg` names out in messages ("out", or "out[1]" for one array of an out tuple).
Result make_result(const char* fn, py::handle out, const py::array& like, Dt dt, bool half);
Result make_result(const char* fn, py::handle out, const std::vector<py::ssize_t>& shape, Dt dt, bool half,
                   const char* arg = "out");

// True when the memory spans of a and b intersect (a conservative bounds check).
bool may_overlap(const py::array& a, const py::array& b);

inline std::size_t nelems(const py::array& a) { return std::size_t(a.size()); }

}  // namespace simdmlp::bind
