// _core._sgd_step / _adam_step / _rmsprop_step / _adagrad_step: in-place optimizer steps
// over one parameter array and its state (used by simdmlp.optim). Every array must be a
// C-contiguous, writeable ndarray of the parameter's dtype and size; nothing is converted.
#include <string>
#include <vector>

#include "arrays.hpp"
#include "simdmlp/optim.hpp"

namespace simdmlp::bind {
namespace {

// Checked pointer to `a` (None allowed when `optional`): same dtype and size as `p`.
void* state_ptr(const char* fn, const char* arg, py::handle a, const py::array& p, bool optional) {
  if (a.is_none()) {
    if (optional) return nullptr;
    throw py::type_error(std::string(fn) + ": " + arg + " must be an ndarray, got None");
  }
  if (!py::isinstance<py::array>(a)) throw py::type_error(std::string(fn) + ": " + arg + " must be an ndarray");
  py::array arr = py::reinterpret_borrow<py::array>(a);
  if (!arr.dtype().equal(p.dtype()))
    throw py::type_error(std::string(fn) + ": " + arg + " has dtype " + dtype_str(arr) + ", expected " + dtype_str(p));
  if (arr.size() != p.size())
    throw py::value_error(std::string(fn) + ": " + arg + " has shape " + shape_str(arr) + " but the parameter has shape " + shape_str(p));
  if (!(arr.flags() & py::array::c_style) || !arr.writeable())
    throw py::value_error(std::string(fn) + ": " + arg + " must be C-contiguous and writeable");
  return arr.mutable_data();
}

py::array param(const char* fn, py::handle p) {
  if (!py::isinstance<py::array>(p)) throw py::type_error(std::string(fn) + ": param must be an ndarray");
  py::array a = py::reinterpret_borrow<py::array>(p);
  const char k = a.dtype().kind();
  if (k != 'f' || (a.itemsize() != 4 && a.itemsize() != 8))
    throw py::type_error(std::string(fn) + ": param has dtype " + dtype_str(a) + " (float32 or float64 expected)");
  if (!(a.flags() & py::array::c_style) || !a.writeable())
    throw py::value_error(std::string(fn) + ": param must be C-contiguous and writeable");
  return a;
}

template <class F>
void dispatch(const py::array& p, F&& f) {
  if (p.itemsize() == 4) f(static_cast<float*>(nullptr));
  else f(static_cast<double*>(nullptr));
}

}  // namespace

void register_optim(py::module_& m) {
  m.def("_sgd_step", [](py::handle p_, py::handle g_, py::handle buf_, double lr, double momentum, double dampening,
                        double weight_decay, bool nesterov, bool first) {
    const char* fn = "simdmlp.optim.SGD.step";
    py::array p = param(fn, p_);
    void* g = state_ptr(fn, "grad", g_, p, false);
    void* buf = state_ptr(fn, "momentum_buffer", buf_, p, true);
    const SgdParams a{lr, momentum, dampening, weight_decay, nesterov, first};
    const std::size_t n = std::size_t(p.size());
    void* pp = p.mutable_data();
    dispatch(p, [&](auto* t) {
      using T = std::remove_pointer_t<decltype(t)>;
      py::gil_scoped_release nogil;
      sgd_step<T>(static_cast<T*>(pp), static_cast<const T*>(g), static_cast<T*>(buf), n, a);
    });
  });
  m.def("_adam_step", [](py::handle p_, py::handle g_, py::handle m_, py::handle v_, double lr, double beta1,
                         double beta2, double eps, double weight_decay, bool decoupled, long step) {
    const char* fn = decoupled ? "simdmlp.optim.AdamW.step" : "simdmlp.optim.Adam.step";
    py::array p = param(fn, p_);
    void* g = state_ptr(fn, "grad", g_, p, false);
    void* mm = state_ptr(fn, "exp_avg", m_, p, false);
    void* vv = state_ptr(fn, "exp_avg_sq", v_, p, false);
    const AdamParams a{lr, beta1, beta2, eps, weight_decay, decoupled, step};
    const std::size_t n = std::size_t(p.size());
    void* pp = p.mutable_data();
    dispatch(p, [&](auto* t) {
      using T = std::remove_pointer_t<decltype(t)>;
      py::gil_scoped_release nogil;
      adam_step<T>(static_cast<T*>(pp), static_cast<const T*>(g), static_cast<T*>(mm), static_cast<T*>(vv), n, a);
    });
  });
  m.def("_rmsprop_step", [](py::handle p_, py::handle g_, py::handle sq_, py::handle ga_, py::handle buf_, double lr,
                            double alpha, double eps, double weight_decay, double momentum, bool centered) {
    const char* fn = "simdmlp.optim.RMSprop.step";
    py::array p = param(fn, p_);
    void* g = state_ptr(fn, "grad", g_, p, false);
    void* sq = state_ptr(fn, "square_avg", sq_, p, false);
    void* ga = state_ptr(fn, "grad_avg", ga_, p, !centered);
    void* buf = state_ptr(fn, "momentum_buffer", buf_, p, momentum <= 0);
    const RmspropParams a{lr, alpha, eps, weight_decay, momentum, centered};
    const std::size_t n = std::size_t(p.size());
    void* pp = p.mutable_data();
    dispatch(p, [&](auto* t) {
      using T = std::remove_pointer_t<decltype(t)>;
      py::gil_scoped_release nogil;
      rmsprop_step<T>(static_cast<T*>(pp), static_cast<const T*>(g), static_cast<T*>(sq), static_cast<T*>(ga),
                      static_cast<T*>(buf), n, a);
    });
  });
  m.def("_adagrad_step", [](py::handle p_, py::handle g_, py::handle s_, double lr, double lr_decay,
                            double weight_decay, double eps, long step) {
    const char* fn = "simdmlp.optim.AdaGrad.step";
    py::array p = param(fn, p_);
    void* g = state_ptr(fn, "grad", g_, p, false);
    void* s = state_ptr(fn, "sum", s_, p, false);
    const AdagradParams a{lr, lr_decay, weight_decay, eps, step};
    const std::size_t n = std::size_t(p.size());
    void* pp = p.mutable_data();
    dispatch(p, [&](auto* t) {
      using T = std::remove_pointer_t<decltype(t)>;
      py::gil_scoped_release nogil;
      adagrad_step<T>(static_cast<T*>(pp), static_cast<const T*>(g), static_cast<T*>(s), n, a);
    });
  });
}

}  // namespace simdmlp::bind
