// simdmlp.NAME(x, *params, out=None) and simdmlp.NAME_backward(grad_output, x, *params,
// out=None) for every entry of activations.def: check and convert, allocate the result,
// release the GIL, call the core.
#include <string>

#include "arrays.hpp"
#include "simdmlp/activations.hpp"

namespace simdmlp::bind {
namespace {

std::string g_fwd_name[kNumActs];
std::string g_bwd_name[kNumActs];

template <class T>
ActParams<T> params_as(const double* pv) {
  return {T(pv[0]), T(pv[1])};  // converted to the input's dtype, as NumPy does
}

py::object forward(Act op, py::handle x, const double* pv, py::handle out) {
  const char* fn = g_fwd_name[int(op)].c_str();
  FloatArray in = to_float_array(fn, "x", x);
  Result res = make_result(fn, out, in.arr, in.dt, in.half);
  detach_if_overlapping(in, res.compute);
  const std::size_t n = nelems(in.arr);
  if (n) {
    if (in.dt == Dt::f32) {
      const auto* xp = static_cast<const float*>(in.arr.data());
      auto* yp = static_cast<float*>(res.compute.mutable_data());
      const ActParams<float> p = params_as<float>(pv);
      py::gil_scoped_release nogil;
      activation_forward(op, xp, yp, n, p);
    } else {
      const auto* xp = static_cast<const double*>(in.arr.data());
      auto* yp = static_cast<double*>(res.compute.mutable_data());
      const ActParams<double> p = params_as<double>(pv);
      py::gil_scoped_release nogil;
      activation_forward(op, xp, yp, n, p);
    }
  }
  return res.finish();
}

py::object backward(Act op, py::handle dy, py::handle x, const double* pv, py::handle out) {
  const char* fn = g_bwd_name[int(op)].c_str();
  FloatArray g = to_float_array(fn, "grad_output", dy);
  FloatArray in = to_float_array(fn, "x", x);
  check_same_shape_dtype(fn, g, in);
  Result res = make_result(fn, out, in.arr, in.dt, in.half);
  detach_if_overlapping(g, res.compute);
  detach_if_overlapping(in, res.compute);
  const std::size_t n = nelems(in.arr);
  if (n) {
    if (in.dt == Dt::f32) {
      const auto* gp = static_cast<const float*>(g.arr.data());
      const auto* xp = static_cast<const float*>(in.arr.data());
      auto* op_ = static_cast<float*>(res.compute.mutable_data());
      const ActParams<float> p = params_as<float>(pv);
      py::gil_scoped_release nogil;
      activation_backward(op, gp, xp, op_, n, p);
    } else {
      const auto* gp = static_cast<const double*>(g.arr.data());
      const auto* xp = static_cast<const double*>(in.arr.data());
      auto* op_ = static_cast<double*>(res.compute.mutable_data());
      const ActParams<double> p = params_as<double>(pv);
      py::gil_scoped_release nogil;
      activation_backward(op, gp, xp, op_, n, p);
    }
  }
  return res.finish();
}

std::string backward_doc(const ActInfo& info) {
  std::string params;
  for (int k = 0; k < info.nparams; ++k) params += std::string(", ") + info.param_name[k] + "=...";
  return std::string(info.name) + "_backward(grad_output, x" + params +
         ", *, out=None): grad_output * " + info.name +
         "'(x), the vector-Jacobian product; grad_output and x must have the same shape "
         "and dtype. Neither argument is modified (unless passed as out).\n\n" + info.doc;
}

// gelu's `approximate` is a string: 'none' -> 0, 'tanh' -> 1 (the kernel's p0).
double gelu_mode(const char* fn, const std::string& approximate) {
  if (approximate == "none") return 0;
  if (approximate == "tanh") return 1;
  throw py::value_error(std::string(fn) + ": approximate must be 'none' or 'tanh', got '" +
                        approximate + "'");
}

void register_gelu(py::module_& m, const ActInfo& info, Act op, const std::string& bname,
                   const std::string& bdoc) {
  m.def(info.name, [op](py::handle x, const std::string& approximate, py::handle out) {
    const double pv[2] = {gelu_mode(g_fwd_name[int(op)].c_str(), approximate), 0};
    return forward(op, x, pv, out);
  }, py::arg("x"), py::arg("approximate") = "none", py::kw_only(), py::arg("out") = py::none(), info.doc);
  m.def(bname.c_str(), [op](py::handle dy, py::handle x, const std::string& approximate, py::handle out) {
    const double pv[2] = {gelu_mode(g_bwd_name[int(op)].c_str(), approximate), 0};
    return backward(op, dy, x, pv, out);
  }, py::arg("grad_output"), py::arg("x"), py::arg("approximate") = "none", py::kw_only(),
     py::arg("out") = py::none(), bdoc.c_str());
}

}  // namespace

void register_activations(py::module_& m) {
  py::list names;
  py::list infos;
  for (int i = 0; i < kNumActs; ++i) {
    const ActInfo& info = kActInfo[i];
    const Act op = Act(i);
    g_fwd_name[i] = std::string("simdmlp.") + info.name;
    g_bwd_name[i] = g_fwd_name[i] + "_backward";
    const std::string bname = std::string(info.name) + "_backward";
    const std::string bdoc = backward_doc(info);
    names.append(info.name);
    py::dict d;
    d["name"] = info.name;
    d["cost"] = info.cost;
    py::dict params;
    for (int k = 0; k < info.nparams; ++k) params[info.param_name[k]] = info.param_default[k];
    if (op == Act::gelu) params["approximate"] = "none";
    d["params"] = params;
    infos.append(d);
    if (op == Act::gelu) {
      register_gelu(m, info, op, bname, bdoc);
      continue;
    }
    switch (info.nparams) {
      case 0:
        m.def(info.name, [op](py::handle x, py::handle out) {
          const double pv[2] = {0, 0};
          return forward(op, x, pv, out);
        }, py::arg("x"), py::kw_only(), py::arg("out") = py::none(), info.doc);
        m.def(bname.c_str(), [op](py::handle dy, py::handle x, py::handle out) {
          const double pv[2] = {0, 0};
          return backward(op, dy, x, pv, out);
        }, py::arg("grad_output"), py::arg("x"), py::kw_only(), py::arg("out") = py::none(), bdoc.c_str());
        break;
      case 1:
        m.def(info.name, [op](py::handle x, double p0, py::handle out) {
          const double pv[2] = {p0, 0};
          return forward(op, x, pv, out);
        }, py::arg("x"), py::arg(info.param_name[0]) = info.param_default[0], py::kw_only(),
           py::arg("out") = py::none(), info.doc);
        m.def(bname.c_str(), [op](py::handle dy, py::handle x, double p0, py::handle out) {
          const double pv[2] = {p0, 0};
          return backward(op, dy, x, pv, out);
        }, py::arg("grad_output"), py::arg("x"), py::arg(info.param_name[0]) = info.param_default[0],
           py::kw_only(), py::arg("out") = py::none(), bdoc.c_str());
        break;
      default:
        m.def(info.name, [op](py::handle x, double p0, double p1, py::handle out) {
          const double pv[2] = {p0, p1};
          return forward(op, x, pv, out);
        }, py::arg("x"), py::arg(info.param_name[0]) = info.param_default[0],
           py::arg(info.param_name[1]) = info.param_default[1], py::kw_only(),
           py::arg("out") = py::none(), info.doc);
        m.def(bname.c_str(), [op](py::handle dy, py::handle x, double p0, double p1, py::handle out) {
          const double pv[2] = {p0, p1};
          return backward(op, dy, x, pv, out);
        }, py::arg("grad_output"), py::arg("x"), py::arg(info.param_name[0]) = info.param_default[0],
           py::arg(info.param_name[1]) = info.param_default[1], py::kw_only(),
           py::arg("out") = py::none(), bdoc.c_str());
        break;
    }
  }
  m.attr("ACTIVATIONS") = py::tuple(names);
  m.attr("_ACTIVATION_INFO") = py::tuple(infos);
}

}  // namespace simdmlp::bind
