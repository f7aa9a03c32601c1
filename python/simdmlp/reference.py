"""Readable NumPy versions of every simdmlp function: the oracle the tests compare the
native kernels against. Written for clarity, not speed; computed in the input's dtype
unless a comment says otherwise.

Backward functions return ``grad_output * f'(x)`` (the vector-Jacobian product), with
f'(NaN) = NaN, so a NaN input poisons its gradient.
"""
from __future__ import annotations

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

    return erfc(-x / np.sqrt(2)) / 2


def gelu(x, approximate="none"):
    """'none': x * Phi(x); 'tanh': 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
    written as x * sigmoid(2u) so that the negative tail does not cancel."""
    with np.errstate(invalid="ignore", over="ignore"):
        if approximate == "tanh":
            u = np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)
            y = x * sigmoid(2 * u)
        else:
            y = x * _normal_cdf(x)
    return np.where(np.isneginf(x), np.zeros_like(x), y)


def gelu_backward(grad_output, x, approximate="none"):
    """'none': Phi(x) + x phi(x); 'tanh': s(2u) + x s(2u) s(-2u) 2u'(x)."""
    with np.errstate(invalid="ignore", over="ignore"):
        if approximate == "tanh":
            k = np.sqrt(2 / np.pi)
            w = 2 * k * (x + 0.044715 * x**3)
            dw = 2 * k * (1 + 3 * 0.044715 * x**2)
            d = sigmoid(w) * (1 + x * dw * sigmoid(-w))
        else:
            d = _normal_cdf(x) + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
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
