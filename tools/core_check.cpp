// Stand-alone check of the C++ core without Python, for cross-compiled builds
// (e.g. aarch64 NEON under qemu-user; see tools/cross_check.sh). For every ISA this CPU
// supports it runs sigmoid and tanh (forward and backward) over a dense grid of float32
// inputs plus specials and prints the max ulp error against double-precision formulas.
// Exit status 1 if any forward error exceeds 4 ulp or a special value is wrong.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "simdmlp/activations.hpp"
#include "simdmlp/dispatch.hpp"

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
  std::printf("%s\n", bad ? "FAILED" : "ok");
  return bad ? 1 : 0;
}
