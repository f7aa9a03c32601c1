"""Readable NumPy versions of every simdmlp function: the oracle the tests compare the
native kernels against. Written for clarity, not speed; computed in the input's dtype
unless a comment says otherwise.

Backward functions return ``grad_output * f'(x)`` (the vector-Jacobian product), with
f'(NaN) = NaN, so a NaN input poisons its gradient.
"""
from __future__ import annotations

import math

import numpy as np


def _nan_like_x(x, value):
    """value, but NaN wherever x is NaN."""
    return np.where(np.isnan(x), x, value)


# --- identity -------------------------------------------------------------------------
def identity(x):
    return np.array(x, copy=True)


def identity_backward(grad_output, x):
    return np.array(grad_output, copy=True)


# --- step ----------------------------------------------------------------------------
def step(x):
    """1 where x > 0, else 0; NaN stays NaN."""
    return _nan_like_x(x, (x > 0).astype(x.dtype))


def step_backward(grad_output, x):
    """The derivative is 0 everywhere (NaN at NaN): grad_output * 0."""
    return grad_output * (step(x) * 0)


# --- relu ----------------------------------------------------------------------------
def relu(x):
    """max(x, 0), with relu(-0) = +0 and NaN kept."""
    return _nan_like_x(x, np.where(x > 0, x, np.zeros_like(x)))


def relu_backward(grad_output, x):
    """relu'(x) = 1 for x > 0, 0 for x <= 0 (left-hand value at the kink)."""
    return grad_output * step(x)


# --- sigmoid -------------------------------------------------------------------------
def sigmoid(x):
    """1 / (1 + exp(-x)), in the stable form: with e = exp(-|x|) (never overflows),
    sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_backward(grad_output, x):
    """sigmoid'(x) = sigmoid(x) * sigmoid(-x) = e / (1 + e)^2 with e = exp(-|x|)."""
    e = np.exp(-np.abs(x))
    return grad_output * (e / (1 + e) ** 2)


# --- tanh ----------------------------------------------------------------------------
def tanh(x):
    return np.tanh(x)


def tanh_backward(grad_output, x):
    """tanh'(x) = 1 - tanh(x)^2 = 4e / (1 + e)^2 with e = exp(-2|x|) (no cancellation)."""
    e = np.exp(-2 * np.abs(x))
    return grad_output * (4 * e / (1 + e) ** 2)



# --- the ReLU family and clipping ----------------------------------------------------
def _param(x, value):
    """A parameter converted to the input's dtype, as NumPy does with Python scalars."""
    return np.asarray(value, dtype=x.dtype)


def leaky_relu(x, negative_slope=0.01):
    return np.where(x > 0, x, _param(x, negative_slope) * x)


def leaky_relu_backward(grad_output, x, negative_slope=0.01):
    slope = np.where(x > 0, _param(x, 1), _param(x, negative_slope))
    return grad_output * _nan_like_x(x, slope)


def _inside(x, lo, hi):
    """1 on the open interval (lo, hi), 0 elsewhere; NaN stays NaN."""
    return _nan_like_x(x, ((x > lo) & (x < hi)).astype(x.dtype))


def relu6(x):
    return _nan_like_x(x, np.where(x > 0, np.minimum(x, _param(x, 6)), np.zeros_like(x)))


def relu6_backward(grad_output, x):
    return grad_output * _inside(x, 0, 6)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    lo, hi = _param(x, min_val), _param(x, max_val)
    return np.where(x < lo, lo, np.where(x > hi, hi, x))


def hardtanh_backward(grad_output, x, min_val=-1.0, max_val=1.0):
    return grad_output * _inside(x, _param(x, min_val), _param(x, max_val))


# --- the exponential family ---------------------------------------------------------
def _exp_neg_abs(t):
    """e = exp(-|t|), in (0, 1]: never overflows."""
    return np.exp(-np.abs(t))


def elu(x, alpha=1.0):
    """x for x > 0, alpha * expm1(x) otherwise (expm1 keeps elu(1e-10) = 1e-10)."""
    return np.where(x > 0, x, _param(x, alpha) * np.expm1(np.minimum(x, 0)))


def elu_backward(grad_output, x, alpha=1.0):
    return grad_output * np.where(x > 0, _param(x, 1), _param(x, alpha) * np.exp(np.minimum(x, 0)))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    return _param(x, SELU_SCALE) * elu(x, SELU_ALPHA)


def selu_backward(grad_output, x):
    return _param(x, SELU_SCALE) * elu_backward(grad_output, x, SELU_ALPHA)


def celu(x, alpha=1.0):
    a = _param(x, alpha)
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0) / a))


def celu_backward(grad_output, x, alpha=1.0):
    a = _param(x, alpha)
    return grad_output * np.where(x > 0, _param(x, 1), np.exp(np.minimum(x, 0) / a))


def swish(x, beta=1.0):
    """x * sigmoid(beta * x)."""
    with np.errstate(invalid="ignore"):  # -inf * 0 at x = -inf: the limit is 0
        y = x * sigmoid(_param(x, beta) * x)
    return np.where(np.isneginf(x), np.zeros_like(x), y)


def swish_backward(grad_output, x, beta=1.0):
    """s(t) * (1 + t * s(-t)) with t = beta * x and s = sigmoid."""
    t = _param(x, beta) * x
    with np.errstate(invalid="ignore"):
        d = sigmoid(t) * (1 + t * sigmoid(-t))
    return grad_output * np.where(np.isinf(t), np.where(t > 0, _param(x, 1), np.zeros_like(x)), d)


def silu(x):
    return swish(x, 1.0)


def silu_backward(grad_output, x):
    return swish_backward(grad_output, x, 1.0)


def softplus(x, beta=1.0):
    """log(1 + exp(beta x)) / beta = max(x, 0) + log1p(exp(-|beta x|)) / beta."""
    b = _param(x, beta)
    return np.maximum(x, 0) + np.log1p(_exp_neg_abs(b * x)) / b


def softplus_backward(grad_output, x, beta=1.0):
    return grad_output * sigmoid(_param(x, beta) * x)


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|))."""
    return np.minimum(x, 0) - np.log1p(_exp_neg_abs(x))


def log_sigmoid_backward(grad_output, x):
    return grad_output * sigmoid(-x)


def mish(x):
    """x * tanh(softplus(x))."""
    with np.errstate(invalid="ignore"):
        y = x * np.tanh(softplus(x))
    return np.where(np.isneginf(x), np.zeros_like(x), y)


def mish_backward(grad_output, x):
    """tanh(sp) + x * (1 - tanh(sp)^2) * sigmoid(x), sp = softplus(x)."""
    t = np.tanh(softplus(x))
    with np.errstate(invalid="ignore"):
        d = t + x * (1 - t * t) * sigmoid(x)
    return grad_output * np.where(np.isinf(x), np.where(x > 0, _param(x, 1), np.zeros_like(x)), d)



def _normal_cdf(x):
    """Phi(x) = erfc(-x / sqrt 2) / 2 (erfc keeps the negative tail's relative accuracy)."""
    from scipy.special import erfc

    return erfc(-x / math.sqrt(2)) / 2


def gelu(x, approximate="none"):
    """'none': x * Phi(x); 'tanh': 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
    written as x * sigmoid(2u) so that the negative tail does not cancel."""
    with np.errstate(invalid="ignore", over="ignore"):
        if approximate == "tanh":
            u = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
            y = x * sigmoid(2 * u)
        else:
            y = x * _normal_cdf(x)
    return np.where(np.isneginf(x), np.zeros_like(x), y)


def gelu_backward(grad_output, x, approximate="none"):
    """'none': Phi(x) + x phi(x); 'tanh': s(2u) + x s(2u) s(-2u) 2u'(x)."""
    with np.errstate(invalid="ignore", over="ignore"):
        if approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            w = 2 * k * (x + 0.044715 * x**3)
            dw = 2 * k * (1 + 3 * 0.044715 * x**2)
            d = sigmoid(w) * (1 + x * dw * sigmoid(-w))
        else:
            d = _normal_cdf(x) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    return grad_output * np.where(np.isinf(x), np.where(x > 0, 1, 0).astype(x.dtype), d)

# --- rational and piecewise-linear ---------------------------------------------------
def softsign(x):
    with np.errstate(invalid="ignore"):  # inf / inf: the limit is +-1
        y = x / (1 + np.abs(x))
    return np.where(np.isinf(x), np.sign(x), y)


def softsign_backward(grad_output, x):
    return grad_output / (1 + np.abs(x)) ** 2


def hardsigmoid(x):
    return relu6(x + 3) / 6


def hardsigmoid_backward(grad_output, x):
    return grad_output * _inside(x, -3, 3) / 6


def hardswish(x):
    """x * relu6(x + 3) / 6: 0 for x <= -3, x for x >= 3 (so hardswish(-inf) = 0)."""
    zero = np.zeros_like(x)
    with np.errstate(invalid="ignore", over="ignore"):
        mid = x * (x + 3) / 6
    return np.where(x <= -3, zero, np.where(x >= 3, x, mid))


def hardswish_backward(grad_output, x):
    """0 for x <= -3, (2x + 3) / 6 on (-3, 3], 1 above (left-hand values at the kinks)."""
    d = np.where(x <= -3, np.zeros_like(x), np.where(x <= 3, (2 * x + 3) / 6, _param(x, 1)))
    return grad_output * _nan_like_x(x, d)


# --- prelu, softmax, log_softmax -------------------------------------------------------
def prelu(x, weight):
    """x if x > 0 else weight * x; weight is a scalar or one value per entry of the last axis."""
    w = np.asarray(weight, dtype=x.dtype)
    return np.where(x > 0, x, w * x)


def prelu_backward(grad_output, x, weight):
    """(grad_x, grad_weight): grad_x = grad_output * (1 if x > 0 else weight);
    grad_weight = sum of grad_output * x where x <= 0, over every axis but the last
    (per-channel weight) or over all of them (scalar weight)."""
    w = np.asarray(weight, dtype=x.dtype)
    grad_x = grad_output * _nan_like_x(x, np.where(x > 0, np.ones_like(x), w * np.ones_like(x)))
    contribution = np.where(x > 0, np.zeros_like(x), grad_output * x)
    if w.size == 1:
        grad_w = contribution.sum().reshape(w.shape)
    else:
        grad_w = contribution.reshape(-1, x.shape[-1]).sum(axis=0)
    return grad_x, grad_w.astype(x.dtype)


def softmax(x, axis=-1):
    """exp(x - max) / sum(exp(x - max)) along axis."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """(x - max) - log(sum(exp(x - max))) along axis."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax_backward(grad_output, x, axis=-1):
    """y * (g - sum(g * y)) along axis, y = softmax(x)."""
    y = softmax(x, axis)
    return y * (grad_output - np.sum(grad_output * y, axis=axis, keepdims=True))


def log_softmax_backward(grad_output, x, axis=-1):
    """g - softmax(x) * sum(g) along axis."""
    return grad_output - softmax(x, axis) * np.sum(grad_output, axis=axis, keepdims=True)

# --- dense layer: matmul, dense, dense_forward, dense_backward --------------------------
# (this section is owned by the GEMM work; activations go above it)


def matmul(a, b):
    """a @ b for 2-d a (M, K) and b (K, N)."""
    return np.matmul(a, b)


def _activation_forward(name, z, params):
    if name is None:
        return z
    return globals()[name](z, **params)


def _activation_backward(name, grad_y, z, params):
    if name is None:
        return grad_y
    grad_z = globals()[name + "_backward"](grad_y, z, **params)
    return grad_z[0] if name == "prelu" else grad_z  # prelu: (grad_x, grad_weight)


def dense_forward(x, W, b=None, activation=None, **params):
    """(y, z) with z = x @ W + b (x (n, in), W (in, out), b (out,)) and y = activation(z);
    z is y when activation is None. activation is a name of this module's functions, with
    its parameters as keywords."""
    z = x @ W
    if b is not None:
        z = z + b
    y = _activation_forward(activation, z, params)
    return y, z


def dense(x, W, b=None, activation=None, **params):
    """activation(x @ W + b)."""
    return dense_forward(x, W, b, activation, **params)[0]


def dense_backward(grad_y, x, W, z, activation=None, has_bias=True, **params):
    """(grad_x, grad_W, grad_b) of y = activation(x @ W + b):
    grad_z = activation_backward(grad_y, z), grad_x = grad_z @ W.T, grad_W = x.T @ grad_z,
    grad_b = grad_z summed over the rows (None without a bias)."""
    grad_z = _activation_backward(activation, grad_y, z, params)
    grad_x = grad_z @ W.T
    grad_W = x.T @ grad_z
    grad_b = grad_z.sum(axis=0) if has_bias else None
    return grad_x, grad_W, grad_b


# --- MLP layer: losses, optimizers, a training step ---
# The oracle for simdmlp.nn and simdmlp.optim. Conventions:
# - Loss values are returned as Python floats, accumulated in float64 (a mean over many
#   elements); loss gradients are computed in the prediction's dtype.
# - Optimizer steps follow torch.optim's single-tensor implementations (the ones it runs on
#   CPU) operation by operation: each NumPy line below is one torch tensor op, rounded once,
#   so the same inputs give the same roundings (torch's vectorised CPU kernels may fuse a
#   multiply-add, so torch itself agrees to rounding, not bit for bit). Hyper-parameters
#   are combined in Python floats (double) and rounded to the parameter's dtype where they
#   meet an array, as torch does with Python scalars.
# - An optimizer step updates ``param`` and the arrays in ``state`` in place and returns
#   ``param``. ``state`` is a dict per parameter array, empty before the first step and
#   filled on it (torch's lazy state), with torch's key names: "step", "momentum_buffer",
#   "exp_avg", "exp_avg_sq", "square_avg", "grad_avg", "sum".


def _as(p, value):
    """A Python scalar rounded to the array's dtype (how torch applies a scalar to a tensor)."""
    return np.asarray(value, dtype=p.dtype)


def _lerp(start, end, weight):
    """torch.lerp(start, end, weight) with a scalar weight, as torch computes it: the
    weight w rounded to the array's dtype, then start + w (end - start) for |w| < 0.5,
    else end - (end - start)(1 - w) with 1 - w in that dtype (exact at w = 1)."""
    w = _as(start, float(weight))
    if abs(w) < 0.5:
        return start + w * (end - start)
    return end - (end - start) * (_as(start, 1.0) - w)


# Losses -------------------------------------------------------------------------------
def mse_loss(pred, target):
    """Mean squared error over all N = pred.size elements (torch.nn.MSELoss):
    L = (1/N) sum (pred - target)^2."""
    diff = pred.astype(np.float64) - np.asarray(target).astype(np.float64).reshape(pred.shape)
    return float(np.mean(diff * diff))


def mse_loss_backward(pred, target):
    """dL/dpred = 2 (pred - target) / N, N = pred.size."""
    return 2 * (pred - np.asarray(target).astype(pred.dtype).reshape(pred.shape)) / pred.size


def one_hot(labels, num_classes, dtype=np.float64):
    """Row i is the unit vector e_{labels[i]} of length num_classes."""
    labels = np.asarray(labels)
    t = np.zeros((labels.shape[0], num_classes), dtype=dtype)
    t[np.arange(labels.shape[0]), labels] = 1
    return t


def _targets(logits, target):
    """Integer labels (N,) as one-hot rows; one-hot or probability rows (N, C) as they are."""
    target = np.asarray(target)
    if target.ndim == 1:
        return one_hot(target, logits.shape[1], logits.dtype)
    return target.astype(logits.dtype)


def softmax_cross_entropy(logits, target):
    """Softmax cross-entropy on logits z (N, C), mean over the batch
    (torch.nn.CrossEntropyLoss): with t the one-hot rows of integer labels (or given rows),
    L = -(1/N) sum_i sum_c t_ic log softmax(z_i)_c,
    log softmax(z)_c = z_c - max(z) - log sum_k exp(z_k - max(z))  (never overflows)."""
    t = _targets(logits, target).astype(np.float64)
    logp = log_softmax(logits.astype(np.float64), axis=1)
    return float(-np.sum(t * logp) / logits.shape[0])


def softmax_cross_entropy_backward(logits, target):
    """dL/dz = (softmax(z) * sum_c t_c - t) / N, which is (softmax(z) - onehot) / N for
    labels, one-hot or probability rows (each row of t sums to 1)."""
    t = _targets(logits, target)
    return (softmax(logits, axis=1) * t.sum(axis=1, keepdims=True) - t) / logits.shape[0]


def bce_with_logits(logits, target):
    """Binary cross-entropy on logits, mean over all N elements (torch.nn.BCEWithLogitsLoss):
    L = (1/N) sum [-y log sigmoid(z) - (1 - y) log(1 - sigmoid(z))]
      = (1/N) sum [max(z, 0) - z y + log(1 + exp(-|z|))]   (the stable form)."""
    z = logits.astype(np.float64)
    y = np.asarray(target).astype(np.float64).reshape(z.shape)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def bce_with_logits_backward(logits, target):
    """dL/dz = (sigmoid(z) - y) / N, N = logits.size."""
    y = np.asarray(target).astype(logits.dtype).reshape(logits.shape)
    return (sigmoid(logits) - y) / logits.size


#: name -> (loss(pred, target) -> float, loss_backward(pred, target) -> dL/dpred); the
#: names of simdmlp.nn's ``fit(loss=...)``.
LOSSES = {
    "mse": (mse_loss, mse_loss_backward),
    "cross_entropy": (softmax_cross_entropy, softmax_cross_entropy_backward),
    "bce_with_logits": (bce_with_logits, bce_with_logits_backward),
}


# Optimizers ---------------------------------------------------------------------------
def sgd_step(param, grad, state, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    """torch.optim.SGD, one step:
        g = grad + weight_decay * p                          (if weight_decay != 0)
        if momentum != 0:
            buf = g                                          (first step: a copy)
            buf = momentum * buf + (1 - dampening) * g       (later steps)
            g = g + momentum * buf  if nesterov  else  buf
        p = p - lr * g
    """
    g = grad
    if weight_decay != 0:
        g = g + _as(param, weight_decay) * param
    if momentum != 0:
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = g.copy()
        else:
            buf = state["momentum_buffer"]
            buf[...] = buf * _as(param, momentum) + _as(param, 1 - dampening) * g
        buf = state["momentum_buffer"]
        g = g + _as(param, momentum) * buf if nesterov else buf
    param[...] = param - _as(param, lr) * g
    return param


def adam_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    """torch.optim.Adam (amsgrad=False), one step; t = state["step"] after the increment:
        p = p * (1 - lr * weight_decay)                      (AdamW: decoupled=True)
        g = grad + weight_decay * p                          (Adam, if weight_decay != 0)
        m = lerp(m, g, 1 - beta1)           = beta1 m + (1 - beta1) g
        v = beta2 v + (1 - beta2) g g
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    with m = v = 0 before the first step. The bias corrections are Python floats
    (sqrt as ``** 0.5``), rounded to p's dtype where they meet the arrays."""
    beta1, beta2 = betas
    if not state:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)
    state["step"] += 1
    t = state["step"]
    m, v = state["exp_avg"], state["exp_avg_sq"]
    g = grad
    if weight_decay != 0:
        if decoupled:
            param[...] = param * _as(param, 1 - lr * weight_decay)
        else:
            g = g + _as(param, weight_decay) * param
    m[...] = _lerp(m, g, 1 - beta1)
    v[...] = v * _as(param, beta2) + (_as(param, 1 - beta2) * g) * g
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2**0.5
    denom = np.sqrt(v) / _as(param, bias_correction2_sqrt) + _as(param, eps)
    param[...] = param + _as(param, -step_size) * (m / denom)
    return param


def adamw_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    """torch.optim.AdamW: Adam with decoupled weight decay, p *= 1 - lr * weight_decay
    before the Adam update of the undecayed gradient (see adam_step)."""
    return adam_step(param, grad, state, lr, betas, eps, weight_decay, decoupled=True)


def rmsprop_step(param, grad, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
    """torch.optim.RMSprop, one step:
        g = grad + weight_decay * p                          (if weight_decay != 0)
        s = alpha s + (1 - alpha) g g
        centered:  ga = lerp(ga, g, 1 - alpha);  avg = sqrt(s - ga ga) + eps
        else:      avg = sqrt(s) + eps
        momentum > 0:  buf = momentum buf + g / avg;  p = p - lr buf
        else:          p = p - lr g / avg
    with s = ga = buf = 0 before the first step."""
    if not state:
        state["step"] = 0
        state["square_avg"] = np.zeros_like(param)
        if momentum > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if centered:
            state["grad_avg"] = np.zeros_like(param)
    state["step"] += 1
    g = grad
    if weight_decay != 0:
        g = g + _as(param, weight_decay) * param
    s = state["square_avg"]
    s[...] = s * _as(param, alpha) + (_as(param, 1 - alpha) * g) * g
    if centered:
        ga = state["grad_avg"]
        ga[...] = _lerp(ga, g, 1 - alpha)
        avg = np.sqrt(s + (_as(param, -1) * ga) * ga) + _as(param, eps)
    else:
        avg = np.sqrt(s) + _as(param, eps)
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf[...] = buf * _as(param, momentum) + g / avg
        param[...] = param + _as(param, -lr) * buf
    else:
        param[...] = param + _as(param, -lr) * (g / avg)
    return param


def adagrad_step(param, grad, state, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10):
    """torch.optim.Adagrad, one step; t = state["step"] after the increment:
        g = grad + weight_decay * p                          (if weight_decay != 0)
        clr = lr / (1 + (t - 1) lr_decay)
        sum = sum + g g
        p = p - clr g / (sqrt(sum) + eps)
    with sum = initial_accumulator_value before the first step."""
    if not state:
        state["step"] = 0
        state["sum"] = np.full_like(param, initial_accumulator_value)
    state["step"] += 1
    t = state["step"]
    g = grad
    if weight_decay != 0:
        g = g + _as(param, weight_decay) * param
    clr = lr / (1 + (t - 1) * lr_decay)
    s = state["sum"]
    s[...] = s + g * g
    std = np.sqrt(s) + _as(param, eps)
    param[...] = param + _as(param, -clr) * (g / std)
    return param


#: name -> step function (simdmlp.optim's class names, lower case).
OPTIMIZERS = {
    "sgd": sgd_step, "adam": adam_step, "adamw": adamw_step, "rmsprop": rmsprop_step, "adagrad": adagrad_step,
}


# A reference MLP ----------------------------------------------------------------------
def mlp_init(sizes, rng=0, dtype=np.float64):
    """Parameters [(W1, b1), (W2, b2), ...] for layer widths ``sizes``: W_k of shape
    (sizes[k], sizes[k+1]) drawn from N(0, 2 / fan_in) (He), b_k = 0. (simdmlp.nn.MLP draws
    its own initial weights; to compare the two, copy one's weights into the other.)"""
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        W = (gen.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(dtype)
        params.append((W, np.zeros(fan_out, dtype=dtype)))
    return params


def _layer_activations(n_layers, activation, output, act_params):
    """[(name, params)] per layer: the hidden activation with act_params, then the output."""
    return [(activation, act_params or {})] * (n_layers - 1) + [(output, {})]


def mlp_forward(params, x, activation="relu", output=None, act_params=None):
    """The MLP h_0 = x, h_k = act_k(h_{k-1} W_k + b_k) with act_k = ``activation`` for the
    hidden layers and ``output`` (None: identity, so the result is logits) for the last.
    ``act_params`` (a dict, e.g. {"approximate": "tanh"}) go to the hidden activation.
    b_k may be None (no bias). Returns (y, cache): cache[k] = (h_{k-1}, z_k) for backward."""
    cache = []
    h = x
    for (W, b), (act, kw) in zip(params, _layer_activations(len(params), activation, output, act_params)):
        y, z = dense_forward(h, W, b, act, **kw)
        cache.append((h, z))
        h = y
    return h, cache


def mlp_backward(params, cache, grad_y, activation="relu", output=None, act_params=None):
    """Backpropagation through mlp_forward's layers in reverse with dense_backward:
    grad_z = act'(z) * grad_h, grad_W = h_prev^T grad_z, grad_b = sum_rows grad_z,
    grad_h_prev = grad_z W^T. Returns [(grad_W1, grad_b1), ...] (grad_b None without bias)."""
    acts = _layer_activations(len(params), activation, output, act_params)
    grads = [None] * len(params)
    g = grad_y
    for k in reversed(range(len(params))):
        W, b = params[k]
        h_prev, z = cache[k]
        act, kw = acts[k]
        g, gW, gb = dense_backward(g, h_prev, W, z, act, has_bias=b is not None, **kw)
        grads[k] = (gW, gb)
    return grads


def train_step(params, states, x, target, loss="cross_entropy", optimizer="sgd", hyper=None, activation="relu",
               output=None, act_params=None):
    """One training step of the reference MLP: forward, loss, backward, and one optimizer
    step on every array in the order W1, b1, W2, b2, ... (simdmlp.nn's ``parameters()``
    order). ``loss`` is a key of LOSSES, ``optimizer`` a key of OPTIMIZERS with keyword
    hyper-parameters ``hyper`` (torch's defaults otherwise); ``states`` is a list with one
    dict per parameter array (start with [{} ...] or ``[]``, which is filled on the first
    call). Updates ``params`` in place and returns the loss before the update."""
    loss_fn, loss_backward = LOSSES[loss]
    step = OPTIMIZERS[optimizer]
    y, cache = mlp_forward(params, x, activation, output, act_params)
    value = loss_fn(y, target)
    grads = mlp_backward(params, cache, loss_backward(y, target), activation, output, act_params)
    arrays = [(p, g) for (W, b), (gW, gb) in zip(params, grads) for p, g in ((W, gW), (b, gb)) if p is not None]
    while len(states) < len(arrays):
        states.append({})
    for (p, g), st in zip(arrays, states):
        step(p, g, st, **(hyper or {}))
    return value
