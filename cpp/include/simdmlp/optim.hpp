// Optimizer steps: one fused pass over a parameter array, updating it and its state in
// place, with torch.optim's update rules (single-tensor form) written in the same order,
// so the same model, data and settings follow the same trajectory. Scalars are rounded to
// the array's dtype before use, as PyTorch does. Arrays are contiguous, n elements, and
// must not overlap each other. Threads split the array (elementwise: any split gives the
// same bits).
#pragma once
#include <cstddef>

namespace simdmlp {

struct SgdParams {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first;  // first step with momentum: the buffer starts as the gradient
};
// g' = g + wd p; buf = first ? g' : momentum buf + (1 - dampening) g';
// d = nesterov ? g' + momentum buf : buf (g' when momentum = 0, buf may be null); p -= lr d.
template <class T> void sgd_step(T* p, const T* g, T* buf, std::size_t n, const SgdParams& a);

struct AdamParams {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled;  // AdamW: p *= 1 - lr wd; Adam: g' = g + wd p
  long step;       // 1 on the first step
};
// m = lerp(m, g', 1 - b1) (torch.lerp's two formulas); v = b2 v + (1 - b2) g' g'; p -= lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps)
template <class T> void adam_step(T* p, const T* g, T* m, T* v, std::size_t n, const AdamParams& a);

struct RmspropParams {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered;
};
// sq = alpha sq + (1 - alpha) g'^2; avg = sqrt(sq - (centered ? ga^2 : 0)) + eps (ga += (1-alpha)(g' - ga));
// momentum > 0: buf = momentum buf + g'/avg, p -= lr buf; else p -= lr g'/avg.
template <class T> void rmsprop_step(T* p, const T* g, T* sq, T* gavg, T* buf, std::size_t n, const RmspropParams& a);

struct AdagradParams {
  double lr, lr_decay, weight_decay, eps;
  long step;  // 1 on the first step
};
// sum += g'^2; p -= lr / (1 + (t - 1) lr_decay) * g' / (sqrt(sum) + eps)
template <class T> void adagrad_step(T* p, const T* g, T* sum, std::size_t n, const AdagradParams& a);

}  // namespace simdmlp
