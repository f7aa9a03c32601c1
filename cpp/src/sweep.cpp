#include "simdmlp/sweep.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernel_table.hpp"
#include "simdmlp/threads.hpp"

namespace simdmlp {

const KernelTable& kernels_for(Isa isa);  // dispatch.cpp

namespace {

float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

double ulp32(double v) {
  const double a = std::fabs(v);
  if (!(a < 3.4028234663852886e38)) return std::ldexp(1.0, 104);  // FLT_MAX's spacing
  // (frexp(0) gives e = 0: without this, a result whose exact value rounds to 0 in float
  // was measured in units of 2^-24, so a wrong subnormal there went unseen)
  if (float(a) == 0) return std::ldexp(1.0, -149);
  int e;
  std::frexp(float(a), &e);  // a in [2^(e-1), 2^e)
  return std::ldexp(1.0, (e - 24) < -149 ? -149 : e - 24);
}

double sigmoid(double t) {
  const double e = std::exp(-std::fabs(t));
  return t >= 0 ? 1 / (1 + e) : e / (1 + e);
}
double phi(double x) { return std::exp(-x * x / 2) / std::sqrt(2 * M_PI); }
double Phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double softplus(double t) { return std::fmax(t, 0) + std::log1p(std::exp(-std::fabs(t))); }

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

// f(x) and f'(x) in double; p0/p1 are the float32-converted parameters.
void reference(Act op, double x, const ActParams<double>& p, double* f, double* d) {
  const double inf = std::numeric_limits<double>::infinity();
  switch (op) {
    case Act::identity: *f = x; *d = 1; return;
    case Act::step: *f = std::isnan(x) ? x : x > 0; *d = std::isnan(x) ? x : 0; return;
    case Act::relu: *f = std::isnan(x) ? x : x > 0 ? x : 0; *d = std::isnan(x) ? x : x > 0; return;
    case Act::sigmoid: *f = sigmoid(x); *d = sigmoid(x) * sigmoid(-x); return;
    case Act::tanh: {
      const double e = std::exp(-2 * std::fabs(x));
      *f = std::tanh(x);
      *d = 4 * e / ((1 + e) * (1 + e));
      return;
    }
    case Act::leaky_relu: *f = x > 0 ? x : p.p0 * x; *d = std::isnan(x) ? x : x > 0 ? 1 : p.p0; return;
    case Act::relu6: *f = std::isnan(x) ? x : std::fmin(std::fmax(x, 0), 6); *d = std::isnan(x) ? x : (x > 0 && x < 6); return;
    case Act::hardtanh: *f = std::isnan(x) ? x : x < p.p0 ? p.p0 : x > p.p1 ? p.p1 : x; *d = std::isnan(x) ? x : (x > p.p0 && x < p.p1); return;
    case Act::elu: *f = x > 0 ? x : p.p0 * std::expm1(x); *d = x > 0 ? 1 : p.p0 * std::exp(x); return;
    case Act::selu: *f = kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x)); *d = kSeluScale * (x > 0 ? 1 : kSeluAlpha * std::exp(x)); return;
    case Act::celu: *f = x > 0 ? x : p.p0 * std::expm1(x / p.p0); *d = x > 0 ? 1 : std::exp(x / p.p0); return;
    case Act::gelu:
      if (p.p0 != 0) {
        const double k = std::sqrt(2 / M_PI);
        const double w = 2 * k * (x + 0.044715 * x * x * x), dw = 2 * k * (1 + 3 * 0.044715 * x * x);
        *f = x == -inf ? 0 : x * sigmoid(w);
        *d = std::isinf(x) ? (x > 0) : sigmoid(w) * (1 + x * dw * sigmoid(-w));
      } else {
        *f = x == -inf ? 0 : x * Phi(x);
        *d = std::isinf(x) ? (x > 0) : Phi(x) + x * phi(x);
      }
      return;
    case Act::silu:
    case Act::swish: {
      const double b = op == Act::silu ? 1 : p.p0, t = b * x;
      *f = x == -inf ? 0 : x * sigmoid(t);
      *d = std::isinf(t) ? (t > 0) : sigmoid(t) * (1 + t * sigmoid(-t));
      return;
    }
    case Act::mish: {
      const double th = std::tanh(softplus(x));
      *f = x == -inf ? 0 : x * th;
      *d = std::isinf(x) ? (x > 0) : th + x * (1 - th * th) * sigmoid(x);
      return;
    }
    case Act::softplus: *f = softplus(p.p0 * x) / p.p0; *d = sigmoid(p.p0 * x); return;
    case Act::softsign: *f = std::isinf(x) ? std::copysign(1.0, x) : x / (1 + std::fabs(x)); *d = 1 / ((1 + std::fabs(x)) * (1 + std::fabs(x))); return;
    case Act::log_sigmoid: *f = -softplus(-x); *d = sigmoid(-x); return;
    case Act::hardsigmoid: *f = std::isnan(x) ? x : x <= -3 ? 0 : x >= 3 ? 1 : (x + 3) / 6; *d = std::isnan(x) ? x : (x > -3 && x < 3) / 6.0; return;
    case Act::hardswish: *f = std::isnan(x) ? x : x <= -3 ? 0 : x >= 3 ? x : x * (x + 3) / 6; *d = std::isnan(x) ? x : x <= -3 ? 0 : x <= 3 ? (2 * x + 3) / 6 : 1; return;
  }
  *f = *d = std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

std::vector<SweepResult> ulp_sweep(Act op, bool backward, ActParams<double> params, std::uint64_t begin,
                                   std::uint64_t end, std::uint64_t stride, double bound,
                                   const std::vector<Isa>& isas) {
  const ActParams<float> pf{float(params.p0), float(params.p1)};
  const ActParams<double> pd{double(pf.p0), double(pf.p1)};  // the function with converted parameters
  const std::uint64_t count = end > begin ? (end - begin + stride - 1) / stride : 0;
  constexpr std::uint64_t kChunk = 1 << 16;
  const std::uint64_t nchunks = (count + kChunk - 1) / kChunk;
  const std::size_t ni = isas.size();
  std::vector<SweepResult> part(nchunks * ni);
  parallel_chunks(std::size_t(nchunks), get_num_threads(), 1, [&](std::size_t c0, std::size_t c1) {
    std::vector<float> x(kChunk), y(kChunk), g(kChunk, 1.0f);
    std::vector<double> want(kChunk);
    for (std::size_t c = c0; c < c1; ++c) {
      const std::uint64_t i0 = c * kChunk, n = (count - i0) < kChunk ? count - i0 : kChunk;
      for (std::uint64_t k = 0; k < n; ++k) {
        x[k] = from_bits(std::uint32_t(begin + (i0 + k) * stride));
        double f, d;
        reference(op, double(x[k]), pd, &f, &d);
        want[k] = backward ? d : f;
      }
      for (std::size_t j = 0; j < ni; ++j) {
        const KernelTable& t = kernels_for(isas[j]);
        if (backward) t.bwd_f32[int(op)](g.data(), x.data(), y.data(), n, pf);
        else t.fwd_f32[int(op)](x.data(), y.data(), n, pf);
        SweepResult& r = part[c * ni + j];
        for (std::uint64_t k = 0; k < n; ++k) {
          double w = want[k];
          const double got = y[k];
          if (std::isinf(float(w))) w = double(float(w));  // the exact value overflows float32
          if (std::isnan(w) || std::isnan(got) || std::isinf(w) || std::isinf(got)) {
            // NaN must meet NaN and inf must meet the same inf (a forward result may also
            // round to +-FLT_MAX where the reference overflows float32).
            const bool same = (std::isnan(w) && std::isnan(got)) || w == got ||
                              (!backward && std::isinf(w) && !std::isnan(got) &&
                               std::fabs(got) >= 3.4028234663852886e38 && (got > 0) == (w > 0));
            if (!same) {
              if (!r.nan_mismatch) r.first_mismatch = std::uint32_t(begin + (i0 + k) * stride);
              ++r.nan_mismatch;
            }
            continue;
          }
          const double err = backward ? std::fabs(got - w) / (8 * ulp32(w) + std::ldexp(1.0, -22))
                                      : std::fabs(got - w) / ulp32(w);
          if (err > bound) ++r.over;
          if (err > r.max_err) {
            r.max_err = err;
            r.worst = std::uint32_t(begin + (i0 + k) * stride);
          }
        }
        r.tested += n;
      }
    }
  });
  std::vector<SweepResult> total(ni);
  for (std::uint64_t c = 0; c < nchunks; ++c) {  // fixed order: independent of the thread count
    for (std::size_t j = 0; j < ni; ++j) {
      const SweepResult& r = part[c * ni + j];
      SweepResult& t = total[j];
      if (r.max_err > t.max_err) {
        t.max_err = r.max_err;
        t.worst = r.worst;
      }
      if (r.nan_mismatch && !t.nan_mismatch) t.first_mismatch = r.first_mismatch;
      t.tested += r.tested;
      t.over += r.over;
      t.nan_mismatch += r.nan_mismatch;
    }
  }
  return total;
}

}  // namespace simdmlp
