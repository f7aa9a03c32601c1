// simdmlp.matmul, simdmlp.dense, simdmlp.dense_forward, simdmlp.dense_backward and
// simdmlp.PackedWeights: check and convert the arguments, allocate the results, release
// the GIL, call the core (simdmlp/gemm.hpp). Operands keep their strides: a transposed or
// sliced view is read in place.
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "simdmlp/activations.hpp"
#include "simdmlp/dispatch.hpp"
#include "simdmlp/gemm.hpp"

namespace simdmlp::bind {
namespace {

using idx = gemm_index;

// ----------------------------------------------------------------- packed weights
// A snapshot of a weight matrix W (K x N) with its packed forms, built on first use per
// ISA and orientation (W for x @ W; W^T for grad_x = grad_z @ W^T). The values are
// copied at construction and never follow later writes to the source array, so a
// PackedWeights can never mix old and new weights: after an update, build a new one (or
// call update()). Thread-safe.
class PackedWeights {
 public:
  struct State {
    py::array w;  // private C-contiguous copy, read-only
    Dt dt;
    bool half;
    std::mutex mu;
    std::shared_ptr<void> packed[4][2];  // [Isa][transposed]
  };

  explicit PackedWeights(py::handle w) { update(w); }

  void update(py::handle w) {
    FloatArray f = to_float_array("simdmlp.PackedWeights", "W", w);
    if (f.arr.ndim() != 2)
      throw py::value_error("simdmlp.PackedWeights: W must be 2-d (in_features, out_features), got shape " +
                            shape_str(f.arr));
    auto s = std::make_shared<State>();
    s->w = f.arr.attr("copy")();
    s->w.attr("setflags")(py::arg("write") = false);
    s->dt = f.dt;
    s->half = f.half;
    state_ = s;
    get_packed_any(*s, current_isa(), false);  // pack now, while the caller waits anyway
  }

  std::shared_ptr<State> state() const { return state_; }

  template <class T>
  static std::shared_ptr<PackedMatrix<T>> get(State& s, Isa isa, bool transposed) {
    return std::static_pointer_cast<PackedMatrix<T>>(get_packed_any(s, isa, transposed));
  }

  static std::shared_ptr<void> get_packed_any(State& s, Isa isa, bool transposed) {
    {
      std::lock_guard<std::mutex> lock(s.mu);
      if (auto p = s.packed[int(isa)][transposed]) return p;
    }
    const idx K0 = s.w.shape(0), N0 = s.w.shape(1);
    const idx K = transposed ? N0 : K0, N = transposed ? K0 : N0;
    std::shared_ptr<void> p;
    if (s.dt == Dt::f32) {
      const auto* d = static_cast<const float*>(s.w.data());
      const MatrixView<float> v{d, transposed ? 1 : N0, transposed ? N0 : 1};
      py::gil_scoped_release nogil;
      p = std::make_shared<PackedMatrix<float>>(isa, K, N, v);
    } else {
      const auto* d = static_cast<const double*>(s.w.data());
      const MatrixView<double> v{d, transposed ? 1 : N0, transposed ? N0 : 1};
      py::gil_scoped_release nogil;
      p = std::make_shared<PackedMatrix<double>>(isa, K, N, v);
    }
    std::lock_guard<std::mutex> lock(s.mu);
    auto& slot = s.packed[int(isa)][transposed];
    if (!slot) slot = p;
    return slot;
  }

 private:
  std::shared_ptr<State> state_;
};

// ----------------------------------------------------------------------- operands
struct Operand {
  FloatArray f;
  std::shared_ptr<PackedWeights::State> packed;  // set when a PackedWeights was passed
  idx rows() const { return packed ? packed->w.shape(0) : f.arr.shape(0); }
  idx cols() const { return packed ? packed->w.shape(1) : f.arr.shape(1); }
  Dt dt() const { return packed ? packed->dt : f.dt; }
  bool half() const { return packed ? packed->half : f.half; }
  std::string shape() const { return shape_str(packed ? packed->w : f.arr); }
  std::string dtype() const {
    return packed ? dtype_str(packed->w) + (packed->half ? " (from float16)" : "")
                  : std::string(py::str(f.orig_dtype));
  }
};

Operand matrix_arg(const char* fn, const char* arg, py::handle obj, bool allow_packed) {
  Operand o;
  if (allow_packed && py::isinstance<PackedWeights>(obj)) {
    o.packed = obj.cast<PackedWeights&>().state();
    return o;
  }
  if (py::isinstance<PackedWeights>(obj))
    throw py::type_error(std::string(fn) + ": argument '" + arg + "' cannot be a PackedWeights");
  o.f = to_float_array(fn, arg, obj, /*contiguous=*/false);
  if (o.f.arr.ndim() != 2)
    throw py::value_error(std::string(fn) + ": " + arg + " must be 2-d, got shape " + shape_str(o.f.arr));
  return o;
}

void same_dtype(const char* fn, const char* an, const Operand& a, const char* bn, const Operand& b) {
  if (a.dt() != b.dt() || a.half() != b.half())
    throw py::type_error(std::string(fn) + ": " + an + " has dtype " + a.dtype() + " but " + bn +
                         " has dtype " + b.dtype() + " (pass all arrays in one dtype)");
}

[[noreturn]] void shape_error(const char* fn, const char* an, const std::string& as, const char* bn,
                              const std::string& bs, const std::string& why) {
  throw py::value_error(std::string(fn) + ": " + an + " has shape " + as + " but " + bn + " has shape " +
                        bs + " (" + why + ")");
}

template <class T>
MatrixView<T> view_of(const py::array& a) {
  const idx s = idx(sizeof(T));
  return {static_cast<const T*>(a.data()), idx(a.strides(0)) / s, idx(a.strides(1)) / s};
}

template <class T>
MatrixView<T> transposed(MatrixView<T> v) {
  return {v.data, v.cs, v.rs};
}

// A copy of `o`'s array when it overlaps `out` (the GEMM cannot run in place).
void detach_from(Operand& o, const py::array& out) {
  if (!o.packed && may_overlap(o.f.arr, out)) o.f.arr = o.f.arr.attr("copy")();
}

// out= of the functions with several results: None, or a tuple/list of n entries, each
// an array or None (that result is allocated).
std::vector<py::object> out_entries(const char* fn, py::handle out, std::size_t n, const char* names) {
  std::vector<py::object> r(n, py::none());
  if (out.is_none()) return r;
  if (!(py::isinstance<py::tuple>(out) || py::isinstance<py::list>(out)) || py::len(out) != n)
    throw py::type_error(std::string(fn) + ": out must be None or a tuple " + names + " of " + std::to_string(n) +
                         " arrays (or None entries), got " +
                         std::string(py::str(py::type::handle_of(out).attr("__name__"))) +
                         (py::isinstance<py::tuple>(out) || py::isinstance<py::list>(out)
                              ? " of length " + std::to_string(py::len(out)) : std::string()));
  py::sequence seq = py::reinterpret_borrow<py::sequence>(out);
  for (std::size_t i = 0; i < n; ++i) r[i] = seq[i];
  return r;
}

// Two results of one call must not share memory.
void check_disjoint(const char* fn, const char* an, const Result& a, const char* bn, const Result& b) {
  if (may_overlap(a.result, b.result))
    throw py::value_error(std::string(fn) + ": " + an + " and " + bn + " share memory (each result needs its own array)");
}

// An array with unit column stride (what the elementwise sweep reads).
py::array rows_contiguous(const py::array& a) {
  if (a.shape(1) <= 1 || a.strides(1) == a.itemsize()) return a;
  return py::module_::import("numpy").attr("ascontiguousarray")(a);
}

// ------------------------------------------------------------------- activations
struct ActSpec {
  int act = -1;
  double p[2] = {0, 0};
  // prelu, softmax, log_softmax: not elementwise (a weight per column, or a whole row);
  // they run as their own kernels on Z once the product is complete.
  std::string rowwise;
  py::dict rw_params;
  bool real() const { return act >= 0 && act != int(Act::identity); }
};

bool is_rowwise(const std::string& name) {
  return name == "prelu" || name == "softmax" || name == "log_softmax";
}

ActSpec parse_activation(const char* fn, py::handle activation, const py::kwargs& kw) {
  ActSpec s;
  if (activation.is_none()) {
    if (kw.size())
      throw py::type_error(std::string(fn) + ": activation parameters given (" +
                           std::string(py::str(py::list(kw.attr("keys")()))) + ") but activation is None");
    return s;
  }
  if (!py::isinstance<py::str>(activation))
    throw py::type_error(std::string(fn) + ": activation must be None or a name from simdmlp.ACTIVATIONS, got " +
                         std::string(py::str(py::type::handle_of(activation).attr("__name__"))));
  const std::string name = activation.cast<std::string>();
  if (is_rowwise(name)) {
    const char* allowed = name == "prelu" ? "weight" : "axis";
    for (auto item : kw) {
      const std::string key = item.first.cast<std::string>();
      if (key != allowed)
        throw py::type_error(std::string(fn) + ": unexpected keyword argument '" + key + "' for activation '" +
                             name + "' (it takes " + allowed + ")");
      s.rw_params[py::str(key)] = item.second;
    }
    if (name == "prelu" && !s.rw_params.contains("weight")) s.rw_params["weight"] = 0.25;  // torch.nn.PReLU
    s.rowwise = name;
    return s;
  }
  for (int i = 0; i < kNumActs; ++i)
    if (name == kActInfo[i].name) s.act = i;
  if (s.act < 0) {
    std::string known;
    for (int i = 0; i < kNumActs; ++i) known += std::string(i ? ", " : "") + kActInfo[i].name;
    known += ", prelu, softmax, log_softmax";
    throw py::value_error(std::string(fn) + ": unknown activation '" + name + "' (known: " + known + ")");
  }
  const ActInfo& info = kActInfo[s.act];
  for (int k = 0; k < info.nparams; ++k) s.p[k] = info.param_default[k];
  for (auto item : kw) {
    const std::string key = item.first.cast<std::string>();
    int k = -1;
    for (int j = 0; j < info.nparams; ++j)
      if (key == info.param_name[j]) k = j;
    if (k < 0) {
      std::string takes;
      for (int j = 0; j < info.nparams; ++j) takes += std::string(j ? ", " : "") + info.param_name[j];
      throw py::type_error(std::string(fn) + ": unexpected keyword argument '" + key + "' for activation '" +
                           name + "'" + (takes.empty() ? " (it takes no parameters)" : " (it takes " + takes + ")"));
    }
    py::handle v = item.second;
    if (py::isinstance<py::str>(v)) {
      // gelu(approximate='none' | 'tanh') is the one string parameter: kernel p0 = 0 | 1.
      const std::string sv = v.cast<std::string>();
      if (key == "approximate" && (sv == "none" || sv == "tanh")) {
        s.p[k] = sv == "tanh" ? 1.0 : 0.0;
        continue;
      }
      throw py::value_error(std::string(fn) + ": invalid value '" + sv + "' for " + key +
                            (key == "approximate" ? " (expected 'none' or 'tanh')" : ""));
    }
    s.p[k] = py::float_(py::reinterpret_borrow<py::object>(v)).cast<double>();
  }
  return s;
}

template <class T>
ActParams<T> params_as(const ActSpec& s) {
  return {T(s.p[0]), T(s.p[1])};  // converted to the input's dtype, as NumPy does
}

// ---------------------------------------------------------------------- forward
// y = act(x @ W + b) into a fresh or given array; z (pre-activation) when want_z.
py::object forward_impl(const char* fn, py::handle x_obj, py::handle w_obj, py::handle b_obj, const ActSpec& act,
                        py::handle out, bool want_z, const char* xn, const char* wn, py::handle z_out = py::none()) {
  Operand x = matrix_arg(fn, xn, x_obj, false);
  Operand w = matrix_arg(fn, wn, w_obj, true);
  same_dtype(fn, xn, x, wn, w);
  if (x.cols() != w.rows())
    shape_error(fn, xn, x.shape(), wn, w.shape(),
                std::string(xn) + ".shape[1] must equal " + wn + ".shape[0]");
  FloatArray b;
  const bool has_b = !b_obj.is_none();
  if (has_b) {
    b = to_float_array(fn, "b", b_obj);
    Operand bo;
    bo.f = b;
    same_dtype(fn, xn, x, "b", bo);
    if (b.arr.ndim() != 1 || b.arr.shape(0) != w.cols())
      shape_error(fn, "b", shape_str(b.arr), wn, w.shape(), "b must have shape (" + std::to_string(w.cols()) + ",)");
  }
  const idx M = x.rows(), K = x.cols(), N = w.cols();
  const Dt dt = x.dt();
  const bool half = x.half();
  const bool real_act = act.real();
  const bool rowwise = !act.rowwise.empty();
  const bool have_z = want_z && (real_act || rowwise);
  if (!have_z && !z_out.is_none() && !z_out.is(out))
    throw py::value_error(std::string(fn) + ": out[1] must be None or out[0] when there is no activation (z is y)");
  Result y = make_result(fn, out, std::vector<py::ssize_t>{M, N}, dt, half, want_z ? "out[0]" : "out");
  Result z;
  if (have_z) {
    z = make_result(fn, z_out, std::vector<py::ssize_t>{M, N}, dt, half, "out[1]");
    check_disjoint(fn, "out[0]", y, "out[1]", z);
  }
  for (const Result* r : {&y, &z}) {
    if (!r->compute) continue;
    detach_from(x, r->compute);
    detach_from(w, r->compute);
    if (has_b && may_overlap(b.arr, r->compute)) b.arr = b.arr.attr("copy")();
  }

  auto run = [&](auto tag) {
    using T = decltype(tag);
    MatrixView<T> A = view_of<T>(x.f.arr);
    MatrixView<T> B{};
    std::shared_ptr<PackedMatrix<T>> pk;
    const Isa isa = current_isa();
    if (w.packed) pk = PackedWeights::get<T>(*w.packed, isa, false);
    else B = view_of<T>(w.f.arr);
    DenseEpilogue<T> ep;
    ep.bias = has_b ? static_cast<const T*>(b.arr.data()) : nullptr;
    ep.act = rowwise ? -1 : act.act;
    ep.params = params_as<T>(act);
    if (have_z) {
      ep.z = static_cast<T*>(z.compute.mutable_data());
      ep.ldz = N;
    }
    T* yp = static_cast<T*>(y.compute.mutable_data());
    py::gil_scoped_release nogil;
    dense_forward<T>(M, N, K, A, B, pk.get(), yp, N, ep);
  };
  if (dt == Dt::f32) run(float{});
  else run(double{});
  if (rowwise) {  // y = act(z), the row-wise kernel (it may write in place)
    py::dict kw = act.rw_params;
    kw["out"] = y.compute;
    py::module_::import("simdmlp._core").attr(act.rowwise.c_str())(have_z ? z.compute : y.compute, **kw);
  }
  py::object yr = y.finish();
  if (!want_z) return yr;
  return py::make_tuple(yr, have_z ? z.finish() : yr);
}

// --------------------------------------------------------------------- backward
py::tuple backward_impl(py::handle gy_obj, py::handle x_obj, py::handle w_obj, py::handle z_obj, const ActSpec& act,
                        bool has_bias, bool need_grad_x, py::handle out) {
  const char* fn = "simdmlp.dense_backward";
  const std::vector<py::object> outs = out_entries(fn, out, 3, "(grad_x, grad_W, grad_b)");
  Operand gy = matrix_arg(fn, "grad_y", gy_obj, false);
  Operand x = matrix_arg(fn, "x", x_obj, false);
  Operand w = matrix_arg(fn, "W", w_obj, true);
  const bool rowwise = !act.rowwise.empty();
  const bool real_act = act.real();
  Operand z;
  const bool has_z = !z_obj.is_none();
  if (has_z) z = matrix_arg(fn, "z", z_obj, false);
  else if (real_act || rowwise)
    throw py::value_error(std::string(fn) + ": z (the pre-activation from dense_forward) is required with activation '" +
                          (rowwise ? act.rowwise : std::string(kActInfo[act.act].name)) + "'");
  same_dtype(fn, "grad_y", gy, "x", x);
  same_dtype(fn, "grad_y", gy, "W", w);
  if (has_z) same_dtype(fn, "grad_y", gy, "z", z);
  if (x.cols() != w.rows()) shape_error(fn, "x", x.shape(), "W", w.shape(), "x.shape[1] must equal W.shape[0]");
  if (gy.rows() != x.rows() || gy.cols() != w.cols())
    shape_error(fn, "grad_y", gy.shape(), "x @ W", "(" + std::to_string(x.rows()) + ", " + std::to_string(w.cols()) + ")",
                "grad_y must have the shape of the layer's output");
  if (has_z && (z.rows() != gy.rows() || z.cols() != gy.cols()))
    shape_error(fn, "z", z.shape(), "grad_y", gy.shape(), "z must have the shape of grad_y");
  if (!has_bias && !outs[2].is_none())
    throw py::value_error(std::string(fn) + ": out[2] (grad_b) must be None when has_bias is False");
  if (!need_grad_x && !outs[0].is_none())
    throw py::value_error(std::string(fn) + ": out[0] (grad_x) must be None when need_grad_x is False");
  const idx M = x.rows(), K = x.cols(), N = w.cols();  // layer: (M, K) @ (K, N)
  const Dt dt = x.dt();
  const bool half = x.half();
  Result gx, gb;
  if (need_grad_x) gx = make_result(fn, outs[0], std::vector<py::ssize_t>{M, K}, dt, half, "out[0]");
  Result gw = make_result(fn, outs[1], std::vector<py::ssize_t>{K, N}, dt, half, "out[1]");
  if (has_bias) gb = make_result(fn, outs[2], std::vector<py::ssize_t>{N}, dt, half, "out[2]");
  if (need_grad_x) check_disjoint(fn, "out[0]", gx, "out[1]", gw);
  if (has_bias) {
    if (need_grad_x) check_disjoint(fn, "out[0]", gx, "out[2]", gb);
    check_disjoint(fn, "out[1]", gw, "out[2]", gb);
  }
  for (const Result* r : {&gx, &gw, &gb}) {  // inputs are read after outputs are written
    if (!r->compute) continue;
    detach_from(gy, r->compute);
    detach_from(x, r->compute);
    detach_from(w, r->compute);
    if (has_z) detach_from(z, r->compute);
  }
  if (rowwise) {  // grad_z from the row-wise kernel; the sweep below then only sums grad_b
    py::object r = py::module_::import("simdmlp._core")
                       .attr((act.rowwise + "_backward").c_str())(gy.f.arr, z.f.arr, **act.rw_params);
    if (act.rowwise == "prelu") r = r[py::int_(0)];  // (grad_x, grad_weight): the layer's grad_z
    gy.f.arr = py::reinterpret_borrow<py::array>(r);
  }
  // The core reads grad_y (and z) with unit column stride: copy the rare other layouts.
  const py::array gy_rows = rows_contiguous(gy.f.arr);
  const py::array z_rows = real_act ? rows_contiguous(z.f.arr) : no_array();

  auto run = [&](auto tag) {
    using T = decltype(tag);
    const Isa isa = current_isa();
    std::shared_ptr<PackedMatrix<T>> pkt;
    MatrixView<T> W{};
    if (w.packed) pkt = PackedWeights::get<T>(*w.packed, isa, true);
    else W = view_of<T>(w.f.arr);
    const MatrixView<T> X = view_of<T>(x.f.arr);
    const T* gyp = static_cast<const T*>(gy_rows.data());
    const idx ldgy = gy_rows.shape(0) > 1 ? idx(gy_rows.strides(0)) / idx(sizeof(T)) : N;
    const T* zp = real_act ? static_cast<const T*>(z_rows.data()) : nullptr;
    const idx ldz = real_act && z_rows.shape(0) > 1 ? idx(z_rows.strides(0)) / idx(sizeof(T)) : N;
    T* gbp = has_bias ? static_cast<T*>(gb.compute.mutable_data()) : nullptr;
    T* gxp = need_grad_x ? static_cast<T*>(gx.compute.mutable_data()) : nullptr;
    T* gwp = static_cast<T*>(gw.compute.mutable_data());
    const ActParams<T> p = params_as<T>(act);
    py::gil_scoped_release nogil;
    dense_backward<T>(M, N, K, gyp, ldgy, zp, ldz, X, W, pkt.get(), real_act ? act.act : -1, p, gxp, K, gwp, N, gbp);
  };
  if (dt == Dt::f32) run(float{});
  else run(double{});
  return py::make_tuple(need_grad_x ? gx.finish() : py::object(py::none()), gw.finish(),
                        has_bias ? gb.finish() : py::object(py::none()));
}

}  // namespace

void register_gemm(py::module_& m) {
  py::class_<PackedWeights>(m, "PackedWeights", R"doc(
PackedWeights(W): a snapshot of the weight matrix W (in_features, out_features), packed
once into the micro-kernel's panel layout, for reuse across calls (inference, evaluation).
Pass it wherever a function takes W (matmul's b, dense, dense_forward, dense_backward).

It copies W's values: later writes to the source array do not affect it, so results
never mix old and new weights. After the weights change, build a new PackedWeights (or
call update(W)); the plain-array W path never caches anything. Packing is redone
automatically for another ISA (use_isa) and, on first use by dense_backward, for W^T.
)doc")
      .def(py::init<py::handle>(), py::arg("W"))
      .def("update", &PackedWeights::update, py::arg("W"),
           "Replace the snapshot with the values of W (any shape and dtype) and repack.")
      .def_property_readonly("shape", [](const PackedWeights& p) {
        auto s = p.state();
        return py::make_tuple(s->w.shape(0), s->w.shape(1));
      })
      .def_property_readonly("dtype", [](const PackedWeights& p) {
        auto s = p.state();
        return s->half ? py::dtype("float16") : s->w.dtype();
      })
      .def_property_readonly("W", [](const PackedWeights& p) { return p.state()->w; },
                             "The snapshot's values (read-only; float32 for a float16 source).")
      .def("__repr__", [](const PackedWeights& p) {
        auto s = p.state();
        return "simdmlp.PackedWeights(shape=" + shape_str(s->w) + ", dtype=" +
               (s->half ? std::string("float16") : dtype_str(s->w)) + ")";
      });

  m.def("matmul", [](py::handle a, py::handle b, py::handle out) {
    return forward_impl("simdmlp.matmul", a, b, py::none(), ActSpec{}, out, false, "a", "b");
  }, py::arg("a"), py::arg("b"), py::kw_only(), py::arg("out") = py::none(), R"doc(
matmul(a, b, *, out=None): a @ b for 2-d a (M, K) and b (K, N), float32 or float64.
Transposed, sliced and negative-stride views are read in place (no copy). b may be a
PackedWeights. Each element is one fma chain over k in order, so the result is bitwise
the same for any thread count, strides or batch size (on one ISA); the error is within
the usual K eps |a||b|. K = 0 gives zeros.)doc");

  m.def("dense", [](py::handle x, py::handle W, py::handle b, py::handle activation, py::handle out,
                    py::kwargs kw) {
    const ActSpec s = parse_activation("simdmlp.dense", activation, kw);
    return forward_impl("simdmlp.dense", x, W, b, s, out, false, "x", "W");
  }, py::arg("x"), py::arg("W"), py::arg("b") = py::none(), py::arg("activation") = py::none(),
     py::arg("out") = py::none(), R"doc(
dense(x, W, b=None, activation=None, out=None, **params): act(x @ W + b) with x
(n, in_features), W (in_features, out_features) or a PackedWeights, b (out_features,).
activation: None or a name from simdmlp.ACTIVATIONS, with its parameters as keywords
(dense(x, W, b, "leaky_relu", negative_slope=0.2)). Bias and activation are fused into
the matrix product's final store (the same activation kernels as simdmlp.NAME).)doc");

  m.def("dense_forward", [](py::handle x, py::handle W, py::handle b, py::handle activation, py::handle out,
                            py::kwargs kw) {
    const char* fn = "simdmlp.dense_forward";
    const ActSpec s = parse_activation(fn, activation, kw);
    const std::vector<py::object> o = out_entries(fn, out, 2, "(y, z)");
    return forward_impl(fn, x, W, b, s, o[0], true, "x", "W", o[1]);
  }, py::arg("x"), py::arg("W"), py::arg("b") = py::none(), py::arg("activation") = py::none(),
     py::arg("out") = py::none(), R"doc(
dense_forward(x, W, b=None, activation=None, out=None, **params) -> (y, z): y = act(z),
z = x @ W + b, the pre-activation dense_backward needs. z is y when activation is None.
out: None or a tuple (y, z) of arrays to write into (either entry None: allocated; z
must be None or y itself when there is no activation), checked like every out=.)doc");

  m.def("dense_backward", [](py::handle grad_y, py::handle x, py::handle W, py::handle z, py::handle activation,
                             bool has_bias, bool need_grad_x, py::handle out, py::kwargs kw) {
    const ActSpec s = parse_activation("simdmlp.dense_backward", activation, kw);
    return backward_impl(grad_y, x, W, z, s, has_bias, need_grad_x, out);
  }, py::arg("grad_y"), py::arg("x"), py::arg("W"), py::arg("z") = py::none(), py::arg("activation") = py::none(),
     py::arg("has_bias") = true, py::arg("need_grad_x") = true, py::arg("out") = py::none(), R"doc(
dense_backward(grad_y, x, W, z, activation=None, has_bias=True, need_grad_x=True, out=None,
**params) -> (grad_x, grad_W, grad_b): grad_z = act_backward(grad_y, z) (one sweep that
also sums grad_b = grad_z over the rows, in row order), grad_x = grad_z @ W^T,
grad_W = x^T @ grad_z (transposes read in place). grad_b is None when has_bias is False;
grad_x is None, and its product skipped, when need_grad_x is False (a network's first
layer). z may be None when activation is None. grad_z lives in reused per-thread
scratch; with out=(grad_x, grad_W, grad_b) (entries may be None) a training step
allocates nothing here.)doc");

  m.def("_gemm_info", [](bool f64) {
    const GemmInfo g = gemm_info(current_isa(), f64);
    py::dict d;
    d["isa"] = isa_name(current_isa());
    d["mr"] = g.mr;
    d["nr"] = g.nr;
    d["kc"] = g.kc;
    d["mc"] = g.mc;
    d["nc"] = g.nc;
    d["small_m"] = g.small_m;
    return d;
  }, py::arg("f64") = false, "Micro-kernel shape and blocking of the current ISA.");

  m.def("_fma_peak", [](const std::string& isa_s, bool f64, int threads, long iters) {
    Isa isa;
    if (!isa_from_name(isa_s, &isa)) throw py::value_error("_fma_peak: unknown ISA '" + isa_s + "'");
    bool ok = false;
    for (Isa s : supported_isas()) ok = ok || s == isa;
    if (!ok) throw py::value_error("_fma_peak: ISA '" + isa_s + "' is not supported by this CPU");
    double flops = 0, secs = 0;
    {
      py::gil_scoped_release nogil;
      secs = fma_probe(isa, f64, threads, iters, &flops);
    }
    return py::make_tuple(secs, flops);
  }, py::arg("isa"), py::arg("f64"), py::arg("threads"), py::arg("iters"),
     "Peak-FMA probe: (seconds, flops) of `iters` iterations of independent vector FMAs on `threads` threads.");
}

}  // namespace simdmlp::bind
