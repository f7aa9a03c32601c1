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


# --- dense layer: matmul, dense, dense_forward, dense_backward --------------------------
# (this section is owned by the GEMM work; activations go above it)
