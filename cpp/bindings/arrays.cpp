#include "arrays.hpp"

#include <cstdint>
#include <new>
#include <stdexcept>

#include "simdmlp/memory.hpp"

namespace simdmlp::bind {

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    s += std::to_string(a.shape(i));
    if (a.ndim() == 1 || i + 1 < a.ndim()) s += a.ndim() == 1 ? "," : ", ";
  }
  return s + ")";
}

std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

namespace {

const py::module_& numpy() {
  static py::module_* np = new py::module_(py::module_::import("numpy"));
  return *np;
}

}  // namespace

py::array new_array(const py::dtype& dt, const std::vector<py::ssize_t>& shape) {
  std::size_t bytes = std::size_t(dt.itemsize());
  for (py::ssize_t s : shape) bytes *= std::size_t(s);
  if (bytes < kBigBytes) return py::array(dt, shape);
  void* p = buffer_alloc(bytes);
  if (!p) throw std::bad_alloc();
  py::capsule owner(p, [](void* q) { buffer_free(q); });
  return py::array(dt, shape, std::vector<py::ssize_t>{}, p, owner);
}

FloatArray to_float_array(const char* fn, const char* arg, py::handle obj, bool contiguous) {
  FloatArray r;
  py::array a = no_array();
  if (py::isinstance<py::array>(obj)) {
    a = py::reinterpret_borrow<py::array>(obj);
  } else {
    try {
      a = numpy().attr("asarray")(obj);
    } catch (py::error_already_set& e) {
      throw py::type_error(std::string(fn) + ": argument '" + arg +
                           "' cannot be converted to an array (" + e.what() + ")");
    }
  }
  const py::dtype d = a.dtype();
  r.orig_dtype = d;
  const char kind = d.kind();
  const bool swapped = d.byteorder() == '>';  // this build targets little-endian machines
  if (kind == 'f' && (d.itemsize() == 4 || d.itemsize() == 8)) {
    r.dt = d.itemsize() == 4 ? Dt::f32 : Dt::f64;
    if (swapped) a = a.attr("astype")(d.attr("newbyteorder")("="));
  } else if (kind == 'f' && d.itemsize() == 2) {
    r.dt = Dt::f32;
    r.half = true;
    a = a.attr("astype")(py::dtype::of<float>());
  } else if (kind == 'b' || kind == 'i' || kind == 'u') {
    r.dt = Dt::f64;
    a = a.attr("astype")(py::dtype::of<double>());
  } else {
    throw py::type_error(std::string(fn) + ": argument '" + arg + "' has unsupported dtype " +
                         dtype_str(a) +
                         " (expected float32 or float64; integers and bools are converted to "
                         "float64, float16 is computed in float32)");
  }
  bool copy = contiguous && !(a.flags() & py::array::c_style);
  for (py::ssize_t i = 0; !copy && i < a.ndim(); ++i) copy = a.strides(i) % a.itemsize() != 0;
  if (copy) a = numpy().attr("ascontiguousarray")(a);
  r.arr = a;
  return r;
}

void check_same_shape_dtype(const char* fn, const FloatArray& g, const FloatArray& x) {
  bool same = g.arr.ndim() == x.arr.ndim();
  for (py::ssize_t i = 0; same && i < x.arr.ndim(); ++i) same = g.arr.shape(i) == x.arr.shape(i);
  if (!same)
    throw py::value_error(std::string(fn) + ": grad_output has shape " + shape_str(g.arr) +
                          " but x has shape " + shape_str(x.arr));
  if (g.dt != x.dt || g.half != x.half)
    throw py::type_error(std::string(fn) + ": grad_output has dtype " + std::string(py::str(g.orig_dtype)) +
                         " but x has dtype " + std::string(py::str(x.orig_dtype)) + " (pass both in one dtype)");
}

void detach_if_overlapping(FloatArray& a, const py::array& other) {
  if (a.arr.size() == 0 || other.size() == 0) return;
  const auto* p = static_cast<const char*>(a.arr.data());
  const auto* q = static_cast<const char*>(other.data());
  const char* pe = p + a.arr.nbytes();
  const char* qe = q + other.nbytes();
  if (p != q && p < qe && q < pe) a.arr = a.arr.attr("copy")();
}

py::object Result::finish() {
  if (half) {
    // float32 -> float16, written into the result. Values beyond float16's range become
    // +-inf, which is the float16 answer; NumPy would warn "overflow encountered in cast",
    // which is not an error of the computation, so the cast runs under errstate(over=ignore).
    py::object ctx = py::module_::import("numpy").attr("errstate")(py::arg("over") = "ignore");
    ctx.attr("__enter__")();
    try {
      result[py::ellipsis()] = compute;
    } catch (...) {
      ctx.attr("__exit__")(py::none(), py::none(), py::none());
      throw;
    }
    ctx.attr("__exit__")(py::none(), py::none(), py::none());
  }
  return result;
}

Result make_result(const char* fn, py::handle out, const py::array& like, Dt dt, bool half) {
  return make_result(fn, out, std::vector<py::ssize_t>(like.shape(), like.shape() + like.ndim()), dt, half);
}

bool may_overlap(const py::array& a, const py::array& b) {
  if (a.size() == 0 || b.size() == 0) return false;
  auto span = [](const py::array& x, const char** lo, const char** hi) {
    const char* p = static_cast<const char*>(x.data());
    *lo = *hi = p;
    for (py::ssize_t i = 0; i < x.ndim(); ++i) {
      const py::ssize_t d = (x.shape(i) - 1) * x.strides(i);
      if (d < 0) *lo += d; else *hi += d;
    }
    *hi += x.itemsize();
  };
  const char *alo, *ahi, *blo, *bhi;
  span(a, &alo, &ahi);
  span(b, &blo, &bhi);
  return alo < bhi && blo < ahi;
}

Result make_result(const char* fn, py::handle out, const std::vector<py::ssize_t>& shape, Dt dt, bool half,
                   const char* arg) {
  const std::string an = arg;
  Result r;
  r.half = half;
  const py::dtype want = half ? py::dtype("float16") : dt == Dt::f32 ? py::dtype::of<float>()
                                                                     : py::dtype::of<double>();
  if (out.is_none()) {
    r.result = new_array(want, shape);
  } else {
    if (!py::isinstance<py::array>(out))
      throw py::type_error(std::string(fn) + ": " + an + " must be a numpy.ndarray, got " +
                           std::string(py::str(py::type::handle_of(out).attr("__name__"))));
    py::array o = py::reinterpret_borrow<py::array>(out);
    if (!o.dtype().equal(want) || o.dtype().byteorder() == '>')
      throw py::type_error(std::string(fn) + ": " + an + " has dtype " + dtype_str(o) +
                           " but the result has dtype " + std::string(py::str(want)) +
                           " (" + an + " is never converted)");
    bool same = o.ndim() == py::ssize_t(shape.size());
    for (py::ssize_t i = 0; same && i < o.ndim(); ++i) same = o.shape(i) == shape[std::size_t(i)];
    if (!same) {
      std::string want_shape = "(";
      for (std::size_t i = 0; i < shape.size(); ++i)
        want_shape += std::to_string(shape[i]) + (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
      throw py::value_error(std::string(fn) + ": " + an + " has shape " + shape_str(o) +
                            " but the result has shape " + want_shape + ")");
    }
    if (!(o.flags() & py::array::c_style))
      throw py::value_error(std::string(fn) + ": " + an + " must be C-contiguous");
    if (!o.writeable()) throw py::value_error(std::string(fn) + ": " + an + " is read-only");
    r.result = o;
  }
  r.compute = half ? new_array(py::dtype::of<float>(), shape) : r.result;
  return r;
}

}  // namespace simdmlp::bind
