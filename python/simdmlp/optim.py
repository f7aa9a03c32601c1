"""Optimizers with torch.optim's update rules and default hyper-parameters.

Each takes the parameters of a model (``model.parameters()``: objects with ``.value``, the
array updated in place, and ``.grad``, its gradient from the last ``backward``) and runs
one native fused pass per parameter array in ``step()``. The update order inside each
pass is torch.optim's single-tensor implementation, so the same model, data and settings
follow the same trajectory (to rounding).

============  ==========================================================================
SGD           g' = g + wd p; buf = mu buf + (1 - dampening) g' (buf = g' on the first
              step); d = g' + mu buf if nesterov else buf (g' when mu = 0); p -= lr d
Adam          g' = g + wd p; m += (1 - b1)(g' - m); v = b2 v + (1 - b2) g'^2;
              p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
AdamW         as Adam with decoupled decay: p *= 1 - lr wd first, g' = g
RMSprop       s = alpha s + (1 - alpha) g'^2; avg = sqrt(s) + eps (centered: sqrt(s - ga^2)
              + eps, ga += (1 - alpha)(g' - ga)); momentum: buf = mu buf + g'/avg,
              p -= lr buf; else p -= lr g'/avg
AdaGrad       sum += g'^2; p -= lr / (1 + (t - 1) lr_decay) * g' / (sqrt(sum) + eps)
============  ==========================================================================

``simdmlp.reference`` writes these rules op by op; the native steps match it bit for bit
(tests/test_optim.py), torch's rounding details included: torch.lerp's second formula
g - (g - m)(1 - w) when its weight is >= 0.5 (beta1 <= 0.5, or alpha <= 0.5 with centered
RMSprop), and (1 - beta2^t) ** 0.5 rather than sqrt in Adam's bias correction.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import _core

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "AdaGrad"]


class Optimizer:
    """Base class: holds the parameters, their per-parameter state and the step count."""

    def __init__(self, params, **hyper):
        name = type(self).__name__
        if isinstance(params, np.ndarray):
            raise TypeError(f"{name}: params must be model.parameters() (objects with .value and .grad), "
                            "not an array")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        seen = set()
        for p in self.params:
            if not (hasattr(p, "value") and hasattr(p, "grad")):
                raise TypeError(f"{name}: parameters must have .value and .grad "
                                f"(use model.parameters()), got {type(p).__name__}")
            value = p.value
            if not isinstance(value, np.ndarray) or value.dtype not in (np.float32, np.float64):
                raise TypeError(f"{name}: a parameter is not a float32 or float64 ndarray "
                                f"({type(value).__name__} {getattr(value, 'dtype', '')})")
            key = (id(p.layer), p.name) if hasattr(p, "layer") else id(value)
            if key in seen:
                raise ValueError(f"{name}: a parameter appears more than once ({p!r})")
            seen.add(key)
        for k, v in hyper.items():
            if k in ("nesterov", "centered"):
                if not isinstance(v, (bool, np.bool_)):
                    raise TypeError(f"{name}: {k} must be True or False, got {v!r}")
                continue
            vs = v if k == "betas" else (v,)
            for x in vs:
                if not isinstance(x, numbers.Real) or isinstance(x, (bool, np.bool_)):
                    raise TypeError(f"{name}: {k} must be a number, got {v!r}")
                if not math.isfinite(x) or x < 0:
                    raise ValueError(f"{name}: {k} must be a finite number >= 0, got {v!r}")
        self.hyper = {k: bool(v) if k in ("nesterov", "centered") else tuple(map(float, v)) if k == "betas"
                      else float(v) for k, v in hyper.items()}
        self.state = [dict() for _ in self.params]
        self.steps = 0

    def zero_grad(self):
        """Set every gradient to zero (backward overwrites them anyway)."""
        for p in self.params:
            if p.grad is not None:
                p.grad[...] = 0

    def step(self):
        self.steps += 1
        for p, st in zip(self.params, self.state):
            if p.grad is None:
                continue
            if p.grad.shape != p.value.shape:
                raise ValueError(f"{type(self).__name__}.step: gradient of shape {p.grad.shape} for a "
                                 f"parameter of shape {p.value.shape}")
            self._update(p.value, p.grad, st)

    def _zeros(self, st, key, like):
        if key not in st:
            st[key] = np.zeros_like(like)
        return st[key]

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov momentum
    and L2 weight decay (torch.optim.SGD)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                         weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")

    def _update(self, p, g, st):
        h = self.hyper
        buf = self._zeros(st, "momentum_buffer", p) if h["momentum"] != 0 else None
        first = not st.get("started", False)
        st["started"] = True
        _core._sgd_step(p, g, buf, h["lr"], h["momentum"], h["dampening"], h["weight_decay"],
                        h["nesterov"], first)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction and L2 weight decay added to the gradient
    (torch.optim.Adam, amsgrad=False)."""

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{type(self).__name__}: betas must be a pair (beta1, beta2), got {betas!r}")
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        if not all(b < 1 for b in self.hyper["betas"]):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), got {betas!r}")

    def _update(self, p, g, st):
        h = self.hyper
        m = self._zeros(st, "exp_avg", p)
        v = self._zeros(st, "exp_avg_sq", p)
        st["step"] = st.get("step", 0) + 1
        _core._adam_step(p, g, m, v, h["lr"], h["betas"][0], h["betas"][1], h["eps"], h["weight_decay"],
                         self._decoupled, st["step"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter; torch.optim.AdamW):
    p *= 1 - lr * weight_decay before the Adam update. Default weight_decay = 0.01."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class RMSprop(Optimizer):
    """RMSprop (Hinton) with optional centering and momentum (torch.optim.RMSprop)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                         centered=centered)
        if self.hyper["alpha"] > 1:
            raise ValueError(f"RMSprop: alpha must be in [0, 1], got {alpha!r}")

    def _update(self, p, g, st):
        h = self.hyper
        sq = self._zeros(st, "square_avg", p)
        ga = self._zeros(st, "grad_avg", p) if h["centered"] else None
        buf = self._zeros(st, "momentum_buffer", p) if h["momentum"] > 0 else None
        st["step"] = st.get("step", 0) + 1  # unused by the update; kept as torch keeps it
        _core._rmsprop_step(p, g, sq, ga, buf, h["lr"], h["alpha"], h["eps"], h["weight_decay"], h["momentum"],
                            h["centered"])


class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al.; torch.optim.Adagrad)."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps)

    def _update(self, p, g, st):
        h = self.hyper
        if "sum" not in st:
            st["sum"] = np.full_like(p, h["initial_accumulator_value"])
        st["step"] = st.get("step", 0) + 1
        _core._adagrad_step(p, g, st["sum"], h["lr"], h["lr_decay"], h["weight_decay"], h["eps"], st["step"])


Adagrad = AdaGrad  # torch's spelling
