// Stand-alone check of the C++ core without Python, for cross-compiled builds
// (e.g. aarch64 NEON under qemu-user; see tools/cross_check.sh). For every ISA this CPU
// supports it runs sigmoid and tanh (forward and backward) over a dense grid of float32
// inputs plus specials and prints the max ulp error against double-precision formulas;
// it also runs a dense layer (GEMM + bias + relu) against a double-precision product and
// an Adam step, which must give the same bits on every ISA, and softmax / log_softmax rows
// (random, wide, near one-hot, with -inf) against long-double formulas.
// Exit status 1 if any forward error exceeds 4 ulp, a special value is wrong, the GEMM
// is outside K eps |x||W|, an ISA's Adam step differs from the scalar one or a softmax
// row is outside SPEC's bound.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "simdmlp/activations.hpp"
#include "simdmlp/dispatch.hpp"
#include "simdmlp/gemm.hpp"
#include "simdmlp/optim.hpp"
#include "simdmlp/rowwise.hpp"

using namespace simdmlp;

static double ulp32(double v) {
  float f = float(std::fabs(v));
  if (!(f < std::numeric_limits<float>::max())) f = std::numeric_limits<float>::max();
  int e;
  std::frexp(f, &e);
  return std::ldexp(1.0, std::max(e - 24, -149));
}

int main() {
  std::vector<float> x;
  for (double v = -110; v <= 110; v += 1.0 / 64) x.push_back(float(v));
  for (int k = -149; k < 0; ++k) { x.push_back(std::ldexp(1.0f, k)); x.push_back(-std::ldexp(1.0f, k)); }
  const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 3.4e38f, -3.4e38f};
  for (float s : specials) x.push_back(s);
  const std::size_t n = x.size();
  std::vector<float> y(n), g(n, 1.0f), d(n);
  int bad = 0;
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    for (Act op : {Act::sigmoid, Act::tanh}) {
      activation_forward(op, x.data(), y.data(), n, {});
      activation_backward(op, g.data(), x.data(), d.data(), n, {});
      double worst = 0, worst_b = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double xi = x[i];
        const double e = op == Act::sigmoid ? std::exp(-std::fabs(xi)) : std::exp(-2 * std::fabs(xi));
        const double f = op == Act::sigmoid ? (xi >= 0 ? 1 / (1 + e) : e / (1 + e)) : std::tanh(xi);
        const double fp = op == Act::sigmoid ? e / ((1 + e) * (1 + e)) : 4 * e / ((1 + e) * (1 + e));
        if (std::isnan(xi)) {
          if (!std::isnan(y[i]) || !std::isnan(d[i])) ++bad;
          continue;
        }
        worst = std::max(worst, std::fabs(y[i] - f) / ulp32(f));
        worst_b = std::max(worst_b, std::fabs(d[i] - fp) / (8 * ulp32(fp) + std::ldexp(1.0, -22)));
      }
      std::printf("%-7s %-8s forward max %.2f ulp, backward max %.3f of the SPEC bound\n", isa_name(isa),
                  op == Act::sigmoid ? "sigmoid" : "tanh", worst, worst_b);
      if (worst > 4 || worst_b > 1) ++bad;
    }
  }
  // dense layer: y = relu(x W + b), x 37 x 300, W 300 x 70 (edges of every tile shape)
  {
    const int M = 37, K = 300, N = 70;
    std::vector<float> xs(M * K), w(K * N), b(N), yd(M * N);
    for (int i = 0; i < M * K; ++i) xs[i] = float(std::sin(0.37 * i));
    for (int i = 0; i < K * N; ++i) w[i] = float(std::cos(0.11 * i)) / 16;
    for (int j = 0; j < N; ++j) b[j] = float(j % 7) / 8 - 0.4f;
    for (Isa isa : supported_isas()) {
      set_isa(isa);
      DenseEpilogue<float> ep;
      ep.bias = b.data();
      ep.act = int(Act::relu);
      dense_forward<float>(M, N, K, {xs.data(), K, 1}, {w.data(), N, 1}, nullptr, yd.data(), N, ep);
      double worst = 0;
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
          double z = b[j], mag = std::fabs(b[j]);
          for (int k = 0; k < K; ++k) {
            z += double(xs[i * K + k]) * w[k * N + j];
            mag += std::fabs(double(xs[i * K + k]) * w[k * N + j]);
          }
          const double want = z > 0 ? z : 0;
          worst = std::max(worst, std::fabs(yd[i * N + j] - want) / (K * 0x1p-24 * mag));
        }
      std::printf("%-7s dense    max error %.3f of K eps |x||W|\n", isa_name(isa), worst);
      if (!(worst <= 1)) ++bad;
    }
  }
  // Adam: every ISA gives the scalar ISA's bits
  {
    const std::size_t n = 1001;
    std::vector<float> ref;
    for (Isa isa : supported_isas()) {
      set_isa(isa);
      std::vector<float> p(n), gr(n), m(n, 0.0f), v(n, 0.0f);
      for (std::size_t i = 0; i < n; ++i) {
        p[i] = float(std::sin(0.1 * double(i)));
        gr[i] = float(std::cos(0.3 * double(i)));
      }
      for (long t = 1; t <= 3; ++t) adam_step<float>(p.data(), gr.data(), m.data(), v.data(), n, {1e-2, 0.9, 0.999, 1e-8, 0.0, false, t});
      if (ref.empty()) ref = p;
      const bool same = std::memcmp(ref.data(), p.data(), n * sizeof(float)) == 0;
      std::printf("%-7s adam     %s\n", isa_name(isa), same ? "same bits as scalar" : "DIFFERS from scalar");
      if (!same) ++bad;
    }
  }
  // softmax / log_softmax: rows of 1..70 and 1000 (every tail), SPEC's float32 bound
  {
    for (Isa isa : supported_isas()) {
      set_isa(isa);
      double worst[2] = {0, 0};
      for (int cols : {1, 2, 15, 16, 17, 31, 33, 64, 65, 70, 1000}) {
        for (int kind = 0; kind < 4; ++kind) {
          std::vector<float> xr(cols), yr(cols);
          for (int j = 0; j < cols; ++j) {
            const double u = std::sin(1.7 * j + 0.3 * cols + kind);
            xr[j] = float(kind == 0 ? 3 * u : kind == 1 ? 60 * u : -25 + 10 * u);
          }
          if (kind >= 2) xr[(cols * 7) / 11] = 0.0f;  // near one-hot: the max term alone
          if (kind == 3 && cols > 2) xr[cols / 3] = -INFINITY;
          long double m = -INFINITY, sum = 0;
          for (float v : xr) m = std::max(m, (long double)v);
          for (float v : xr) sum += std::exp((long double)v - m);
          for (int lg = 0; lg < 2; ++lg) {
            softmax_forward(lg == 1, xr.data(), yr.data(), 1, std::size_t(cols));
            for (int j = 0; j < cols; ++j) {
              const long double dj = (long double)xr[j] - m;
              const long double want = lg ? dj - std::log(sum) : std::exp(dj) / sum;
              if (std::isinf((double)want)) {
                if (yr[j] != (double)want) ++bad;
                continue;
              }
              const double err = double(std::fabs((long double)yr[j] - want) /
                                        (0x1p-20 * std::fabs(want) + 0x1p-24));
              worst[lg] = std::max(worst[lg], err);
            }
          }
        }
      }
      std::printf("%-7s softmax  max error %.3f, log_softmax %.3f of the SPEC bound\n", isa_name(isa),
                  worst[0], worst[1]);
      if (!(worst[0] <= 1 && worst[1] <= 1)) ++bad;
    }
  }
  std::printf("%s\n", bad ? "FAILED" : "ok");
  return bad ? 1 : 0;
}
