// softmax / log_softmax (any axis; the last axis runs natively, another axis is moved
// there and back) and prelu (scalar weight, or one weight per entry of the last axis).
#include <string>

#include "arrays.hpp"
#include "simdmlp/rowwise.hpp"

namespace simdmlp::bind {
namespace {

const py::module_& np() {
  static py::module_* m = new py::module_(py::module_::import("numpy"));
  return *m;
}

int normalize_axis(const char* fn, int axis, py::ssize_t ndim) {
  const int nd = ndim == 0 ? 1 : int(ndim);  // a 0-d array is one row of one element
  if (axis < -nd || axis >= nd)
    throw py::value_error(std::string(fn) + ": axis " + std::to_string(axis) +
                          " is out of bounds for an array of dimension " + std::to_string(ndim));
  return axis < 0 ? axis + nd : axis;
}

// Run `f(rows, cols, src..., dst)` over C-contiguous arrays whose softmax axis is last.
template <class F>
void run_rows(const py::array& like, F&& f) {
  const std::size_t n = nelems(like);
  const std::size_t cols = like.ndim() == 0 ? 1 : std::size_t(like.shape(like.ndim() - 1));
  if (n == 0 || cols == 0) return;
  f(n / cols, cols);
}

py::array move_last(const py::array& a, int axis) {
  return np().attr("ascontiguousarray")(np().attr("moveaxis")(a, axis, -1));
}

py::object softmax_fwd(bool log, py::handle x, int axis, py::handle out) {
  const char* fn = log ? "simdmlp.log_softmax" : "simdmlp.softmax";
  FloatArray in = to_float_array(fn, "x", x);
  const int ax = normalize_axis(fn, axis, in.arr.ndim());
  Result res = make_result(fn, out, in.arr, in.dt, in.half);
  const bool last = in.arr.ndim() == 0 || ax == in.arr.ndim() - 1;
  py::array src = last ? in.arr : move_last(in.arr, ax);
  if (last) {
    detach_if_overlapping(in, res.compute);
    src = in.arr;
  }
  py::array dst = last ? res.compute : py::array(src.dtype(), std::vector<py::ssize_t>(src.shape(), src.shape() + src.ndim()));
  run_rows(src, [&](std::size_t rows, std::size_t cols) {
    if (in.dt == Dt::f32) {
      const auto* xp = static_cast<const float*>(src.data());
      auto* yp = static_cast<float*>(dst.mutable_data());
      py::gil_scoped_release nogil;
      softmax_forward(log, xp, yp, rows, cols);
    } else {
      const auto* xp = static_cast<const double*>(src.data());
      auto* yp = static_cast<double*>(dst.mutable_data());
      py::gil_scoped_release nogil;
      softmax_forward(log, xp, yp, rows, cols);
    }
  });
  if (!last) res.compute[py::ellipsis()] = np().attr("moveaxis")(dst, -1, ax);
  return res.finish();
}

py::object softmax_bwd(bool log, py::handle dy, py::handle x, int axis, py::handle out) {
  const char* fn = log ? "simdmlp.log_softmax_backward" : "simdmlp.softmax_backward";
  FloatArray g = to_float_array(fn, "grad_output", dy);
  FloatArray in = to_float_array(fn, "x", x);
  check_same_shape_dtype(fn, g, in);
  const int ax = normalize_axis(fn, axis, in.arr.ndim());
  Result res = make_result(fn, out, in.arr, in.dt, in.half);
  const bool last = in.arr.ndim() == 0 || ax == in.arr.ndim() - 1;
  if (last) {
    detach_if_overlapping(g, res.compute);
    detach_if_overlapping(in, res.compute);
  }
  py::array gs = last ? g.arr : move_last(g.arr, ax);
  py::array xs = last ? in.arr : move_last(in.arr, ax);
  py::array dst = last ? res.compute : py::array(xs.dtype(), std::vector<py::ssize_t>(xs.shape(), xs.shape() + xs.ndim()));
  run_rows(xs, [&](std::size_t rows, std::size_t cols) {
    if (in.dt == Dt::f32) {
      const auto* gp = static_cast<const float*>(gs.data());
      const auto* xp = static_cast<const float*>(xs.data());
      auto* dp = static_cast<float*>(dst.mutable_data());
      py::gil_scoped_release nogil;
      softmax_backward(log, gp, xp, dp, rows, cols);
    } else {
      const auto* gp = static_cast<const double*>(gs.data());
      const auto* xp = static_cast<const double*>(xs.data());
      auto* dp = static_cast<double*>(dst.mutable_data());
      py::gil_scoped_release nogil;
      softmax_backward(log, gp, xp, dp, rows, cols);
    }
  });
  if (!last) res.compute[py::ellipsis()] = np().attr("moveaxis")(dst, -1, ax);
  return res.finish();
}

// The weight, converted to x's compute dtype; cols = 1 for a scalar (or one-element) weight.
// A Python float (the usual scalar) skips the array round trip (about 1 us a call).
struct PreluWeight {
  bool is_float;  // a Python float: `scalar`, no array
  double scalar;
  py::object arr;
  template <class T>
  const T* ptr(T& slot) const {
    if (!is_float) return static_cast<const T*>(py::reinterpret_borrow<py::array>(arr).data());
    slot = T(scalar);
    return &slot;
  }
};

PreluWeight prelu_weight(const char* fn, py::handle weight, const FloatArray& in, std::size_t* cols) {
  if (PyFloat_CheckExact(weight.ptr())) {
    *cols = 1;
    return {true, PyFloat_AS_DOUBLE(weight.ptr()), py::object()};
  }
  FloatArray w = to_float_array(fn, "weight", weight);
  py::array wa = w.arr.attr("astype")(in.arr.dtype());
  if (wa.ndim() > 1)
    throw py::value_error(std::string(fn) + ": weight must be a scalar or 1-d, got shape " + shape_str(wa));
  const std::size_t last = in.arr.ndim() == 0 ? 1 : std::size_t(in.arr.shape(in.arr.ndim() - 1));
  if (wa.ndim() == 0 || wa.size() == 1) {
    *cols = 1;
  } else if (std::size_t(wa.size()) == last && in.arr.ndim() >= 1) {
    *cols = last;
  } else {
    throw py::value_error(std::string(fn) + ": weight has shape " + shape_str(wa) +
                          " but x has shape " + shape_str(in.arr) +
                          " (weight must be a scalar or have one entry per element of x's last axis)");
  }
  return {false, 0.0, np().attr("ascontiguousarray")(wa)};
}

py::object prelu_fwd(py::handle x, py::handle weight, py::handle out) {
  const char* fn = "simdmlp.prelu";
  FloatArray in = to_float_array(fn, "x", x);
  std::size_t cols = 1;
  const PreluWeight w = prelu_weight(fn, weight, in, &cols);
  Result res = make_result(fn, out, in.arr, in.dt, in.half);
  detach_if_overlapping(in, res.compute);
  const std::size_t n = nelems(in.arr);
  float wf;
  double wd;
  if (n) {
    if (in.dt == Dt::f32) {
      const auto* xp = static_cast<const float*>(in.arr.data());
      const float* wp = w.ptr(wf);
      auto* yp = static_cast<float*>(res.compute.mutable_data());
      py::gil_scoped_release nogil;
      prelu_forward(xp, wp, yp, n / cols, cols);
    } else {
      const auto* xp = static_cast<const double*>(in.arr.data());
      const double* wp = w.ptr(wd);
      auto* yp = static_cast<double*>(res.compute.mutable_data());
      py::gil_scoped_release nogil;
      prelu_forward(xp, wp, yp, n / cols, cols);
    }
  }
  return res.finish();
}

py::object prelu_bwd(py::handle dy, py::handle x, py::handle weight, py::handle out) {
  const char* fn = "simdmlp.prelu_backward";
  FloatArray g = to_float_array(fn, "grad_output", dy);
  FloatArray in = to_float_array(fn, "x", x);
  check_same_shape_dtype(fn, g, in);
  std::size_t cols = 1;
  const PreluWeight w = prelu_weight(fn, weight, in, &cols);
  Result res = make_result(fn, out, in.arr, in.dt, in.half);
  detach_if_overlapping(g, res.compute);
  detach_if_overlapping(in, res.compute);
  py::array dw(in.arr.dtype(), std::vector<py::ssize_t>{py::ssize_t(cols)});
  const std::size_t n = nelems(in.arr);
  float wf;
  double wd;
  if (n) {
    if (in.dt == Dt::f32) {
      const auto* gp = static_cast<const float*>(g.arr.data());
      const auto* xp = static_cast<const float*>(in.arr.data());
      const float* wp = w.ptr(wf);
      auto* dp = static_cast<float*>(res.compute.mutable_data());
      auto* dwp = static_cast<float*>(dw.mutable_data());
      py::gil_scoped_release nogil;
      prelu_backward(gp, xp, wp, dp, dwp, n / cols, cols);
    } else {
      const auto* gp = static_cast<const double*>(g.arr.data());
      const auto* xp = static_cast<const double*>(in.arr.data());
      const double* wp = w.ptr(wd);
      auto* dp = static_cast<double*>(res.compute.mutable_data());
      auto* dwp = static_cast<double*>(dw.mutable_data());
      py::gil_scoped_release nogil;
      prelu_backward(gp, xp, wp, dp, dwp, n / cols, cols);
    }
  } else {
    dw[py::ellipsis()] = 0;
  }
  // grad_weight has the weight's shape and the result's dtype.
  py::object wshape = !w.is_float ? py::array(np().attr("asarray")(weight)).attr("shape") : py::tuple();
  py::object gw = dw.attr("reshape")(wshape);
  if (in.half) gw = gw.attr("astype")("float16");
  return py::make_tuple(res.finish(), gw);
}

}  // namespace

void register_rowwise(py::module_& m) {
  m.def("softmax", [](py::handle x, int axis, py::handle out) { return softmax_fwd(false, x, axis, out); },
        py::arg("x"), py::arg("axis") = -1, py::kw_only(), py::arg("out") = py::none(),
        "softmax(x, axis=-1, *, out=None): exp(x - max) / sum(exp(x - max)) along axis.\n"
        "x - max is formed exactly and the sum is compensated: within 2^-20 |y| + 2^-24\n"
        "(float32) of the exact value for rows of any length. A row with NaN or +inf, or\n"
        "only -inf, gives NaN. The last axis runs natively; another axis is moved there.");
  m.def("log_softmax", [](py::handle x, int axis, py::handle out) { return softmax_fwd(true, x, axis, out); },
        py::arg("x"), py::arg("axis") = -1, py::kw_only(), py::arg("out") = py::none(),
        "log_softmax(x, axis=-1, *, out=None): (x - max) - log(sum(exp(x - max))) along axis.");
  m.def("softmax_backward",
        [](py::handle dy, py::handle x, int axis, py::handle out) { return softmax_bwd(false, dy, x, axis, out); },
        py::arg("grad_output"), py::arg("x"), py::arg("axis") = -1, py::kw_only(), py::arg("out") = py::none(),
        "softmax_backward(grad_output, x, axis=-1, *, out=None): y * (g - sum(g * y)) along axis,\n"
        "y = softmax(x) recomputed from x.");
  m.def("log_softmax_backward",
        [](py::handle dy, py::handle x, int axis, py::handle out) { return softmax_bwd(true, dy, x, axis, out); },
        py::arg("grad_output"), py::arg("x"), py::arg("axis") = -1, py::kw_only(), py::arg("out") = py::none(),
        "log_softmax_backward(grad_output, x, axis=-1, *, out=None): g - softmax(x) * sum(g) along axis.");
  m.def("prelu", &prelu_fwd, py::arg("x"), py::arg("weight"), py::kw_only(), py::arg("out") = py::none(),
        "prelu(x, weight, *, out=None): x if x > 0 else weight * x; weight is a scalar or a 1-d\n"
        "array with one entry per element of x's last axis (converted to x's dtype). NaN -> NaN.");
  m.def("prelu_backward", &prelu_bwd, py::arg("grad_output"), py::arg("x"), py::arg("weight"), py::kw_only(),
        py::arg("out") = py::none(),
        "prelu_backward(grad_output, x, weight, *, out=None) -> (grad_x, grad_weight):\n"
        "grad_x = grad_output * (1 if x > 0 else weight) (left-hand value at 0: weight);\n"
        "grad_weight = sum of grad_output * x where x <= 0, over all but the last axis (per\n"
        "channel) or over everything (scalar weight); it has the weight's shape. out= is grad_x.");
  m.attr("ROWWISE_ACTIVATIONS") = py::make_tuple("prelu", "softmax", "log_softmax");
}

}  // namespace simdmlp::bind
