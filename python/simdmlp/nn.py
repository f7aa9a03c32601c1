"""A thin MLP layer over simdmlp's kernels, in the shape "Deep Learning from Scratch" and
d2l.ai readers know: layers with ``forward``/``backward``, containers, losses, and a
training loop. Each layer's forward and backward is one native call; Python only wires
them.

    model = MLP([784, 256, 10], activation="relu", rng=0)
    loss = SoftmaxCrossEntropyLoss()
    opt = simdmlp.optim.Adam(model.parameters(), lr=1e-3)
    history = model.fit(X, y, epochs=10, batch_size=128, loss=loss, optimizer=opt)

Conventions:
- ``Dense`` holds ``W`` of shape (in, out) and ``b`` of shape (out,): y = act(x W + b).
- ``backward`` *overwrites* each layer's gradients (dW, db); it does not accumulate.
- Losses return the mean over the batch; their ``backward()`` carries the 1/N, once.
- Randomness only through ``rng`` (an int seed or a ``np.random.Generator``).
"""
from __future__ import annotations

import copy
import json
import math
import numbers
import sys
import time

import numpy as np

from . import _core

__all__ = [
    "Parameter", "Layer", "Dense", "Activation", "Sequential", "MLP", "MSELoss",
    "SoftmaxCrossEntropyLoss", "BCEWithLogitsLoss", "load", "gradcheck", "INITS",
]

_FORMAT = "simdmlp.nn/1"


def _rng(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be an int, None or a numpy.random.Generator, got {type(rng).__name__}")


def _dtype(dtype, where="dtype"):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where} must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{where} must be float32 or float64, got {dt}")
    return dt


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _act_params(where, name, params):
    """Check an activation's parameters when the layer is built (not at its first forward)
    and return them as plain Python values (JSON-safe, exact: a float32 value is a double
    exactly): known names, finite numbers, strings where the kernel takes a string, an int
    axis, a number or a list of numbers for prelu's weight."""
    from . import _PARAMS

    allowed = _PARAMS[name]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise TypeError(f"{where}: activation {name!r} takes parameters {sorted(allowed) or 'none'}, "
                        f"got {unknown}")
    out = {}
    for key, value in params.items():
        if isinstance(allowed[key], str):
            if not isinstance(value, str):
                raise TypeError(f"{where}: {name} parameter {key} must be a str, got {value!r}")
            out[key] = value
        elif key == "axis":
            if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{where}: {name} parameter axis must be an int, got {value!r}")
            out[key] = int(value)
        elif key == "weight" and np.ndim(value) == 1:
            w = np.asarray(value)
            if w.size == 0 or w.dtype.kind not in "iuf" or not np.all(np.isfinite(w)):
                raise ValueError(f"{where}: prelu weight must be a finite number or a 1-d array of them, "
                                 f"got {value!r}")
            out[key] = [float(v) for v in w]
        else:
            if not _is_real(value) or not math.isfinite(float(value)):
                raise ValueError(f"{where}: {name} parameter {key} must be a finite number, got {value!r}")
            out[key] = float(value)
    if name in _core.ACTIVATIONS:  # elementwise: let the kernel check the values on one element
        try:
            getattr(_core, name)(np.zeros(1), **out)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: bad parameters for {name}: {e}") from None
    return out


class Parameter:
    """A handle on one trainable array of a layer: ``.value`` (updated in place by the
    optimizers) and ``.grad`` (written by the layer's ``backward``)."""

    __slots__ = ("layer", "name", "grad_name")

    def __init__(self, layer, name, grad_name):
        self.layer, self.name, self.grad_name = layer, name, grad_name

    @property
    def value(self):
        return getattr(self.layer, self.name)

    @property
    def grad(self):
        return getattr(self.layer, self.grad_name)

    def __repr__(self):
        return f"Parameter({type(self.layer).__name__}.{self.name}, shape={self.value.shape})"


class _Workspace:
    def _buf(self, key, shape, dtype, reuse):
        """An array for a result: new (reuse=False: what forward/backward return to a
        caller), or kept in this object per (key, shape) and overwritten by the next
        ``train_step`` (reuse=True), so training allocates nothing after the first step
        of each batch size."""
        if not reuse:
            return np.empty(shape, dtype)
        ws = self.__dict__.setdefault("_workspace", {})
        a = ws.get((key, shape))
        if a is None or a.dtype != dtype:
            a = ws[(key, shape)] = np.empty(shape, dtype)
        return a


class Layer(_Workspace):
    """Base class: ``forward(x, training=True)``, ``backward(grad_y) -> grad_x``."""

    def parameters(self):
        return []

    # train_step's hooks; a custom layer gets the plain forward/backward.
    def _train_forward(self, x):
        return self.forward(x, training=True)

    def _train_backward(self, grad_y, need_input_grad):
        return self.backward(grad_y)

    def config(self):
        raise NotImplementedError(f"{type(self).__name__} has no config(), so it cannot be saved")

    def __call__(self, x, training=False):
        return self.forward(x, training=training)


# --- initialisation ---------------------------------------------------------------------
def _init_he_normal(rng, fan_in, fan_out, shape):
    """N(0, 2 / fan_in) (He et al. 2015), for ReLU-like activations."""
    return rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)


def _init_he_uniform(rng, fan_in, fan_out, shape):
    """U(-l, l), l = sqrt(6 / fan_in)."""
    lim = math.sqrt(6.0 / fan_in)
    return rng.uniform(-lim, lim, shape)


def _init_xavier_normal(rng, fan_in, fan_out, shape):
    """N(0, 2 / (fan_in + fan_out)) (Glorot & Bengio 2010), for tanh/sigmoid."""
    return rng.standard_normal(shape) * math.sqrt(2.0 / (fan_in + fan_out))


def _init_xavier_uniform(rng, fan_in, fan_out, shape):
    """U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""
    lim = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, shape)


def _init_lecun_normal(rng, fan_in, fan_out, shape):
    """N(0, 1 / fan_in) (LeCun 1998), for SELU."""
    return rng.standard_normal(shape) * math.sqrt(1.0 / fan_in)


def _init_normal(rng, fan_in, fan_out, shape):
    """N(0, 0.01^2), as "Deep Learning from Scratch" starts."""
    return rng.standard_normal(shape) * 0.01


def _init_zeros(rng, fan_in, fan_out, shape):
    return np.zeros(shape)


#: Weight initialisers by name: each formula is in its function's docstring.
INITS = {
    "he_normal": _init_he_normal, "he_uniform": _init_he_uniform,
    "xavier_normal": _init_xavier_normal, "xavier_uniform": _init_xavier_uniform,
    "lecun_normal": _init_lecun_normal, "normal": _init_normal, "zeros": _init_zeros,
}
_AUTO_HE = {"relu", "leaky_relu", "relu6", "elu", "celu", "gelu", "silu", "swish", "mish", "softplus",
            "hardswish", "prelu", "step"}


def _auto_init(activation):
    """"auto": he_normal for ReLU-like activations, lecun_normal for SELU, xavier_normal
    otherwise (tanh, sigmoid, softsign, identity, None)."""
    if activation in _AUTO_HE:
        return "he_normal"
    if activation == "selu":
        return "lecun_normal"
    return "xavier_normal"


class Dense(Layer):
    """Fully connected layer y = act(x W + b), W of shape (in_features, out_features).

    ``activation`` is None or any elementwise activation name of ``simdmlp.ELEMENTWISE``
    (its parameters as keyword arguments, e.g. ``Dense(64, 64, "leaky_relu",
    negative_slope=0.1)``); bias and activation are fused into the matrix product.
    ``init`` names a formula of :data:`INITS` ("auto" picks by activation: he_normal for
    ReLU-like, lecun_normal for SELU, xavier_normal otherwise); biases start at 0.
    After ``backward``, ``dW`` and ``db`` hold the gradients of the last batch.
    """

    def __init__(self, in_features, out_features, activation=None, bias=True, init="auto",
                 dtype=np.float32, rng=None, **act_params):
        for nm, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Dense: {nm} must be a positive int, got {v!r}")
        if activation is not None and activation not in _core.ACTIVATIONS:
            raise ValueError(f"Dense: activation must be None or one of {', '.join(_core.ACTIVATIONS)}, "
                             f"got {activation!r}")
        if activation is None and act_params:
            raise TypeError(f"Dense: activation parameters {sorted(act_params)} given without an activation")
        act_params = _act_params("Dense", activation, act_params) if activation is not None else {}
        init_name = _auto_init(activation) if init == "auto" else init
        if not isinstance(init_name, str) or init_name not in INITS:
            raise ValueError(f"Dense: init must be 'auto' or one of {', '.join(INITS)}, got {init!r}")
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"Dense: bias must be True or False, got {bias!r}")
        dt = _dtype(dtype, "Dense: dtype")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.activation, self.act_params, self.init = activation, act_params, init
        self.bias = bool(bias)
        gen = _rng(rng)
        self.W = np.ascontiguousarray(INITS[init_name](gen, self.in_features, self.out_features,
                                                       (self.in_features, self.out_features)), dtype=dt)
        self.b = np.zeros(self.out_features, dtype=dt) if self.bias else None
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b) if self.bias else None
        self.x = self.z = None

    @property
    def dtype(self):
        return self.W.dtype

    def forward(self, x, training=True):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Dense.forward: x has shape {x.shape}, expected (batch, {self.in_features})")
        if x.dtype != self.W.dtype:
            raise TypeError(f"Dense.forward: x has dtype {x.dtype} but the layer's weights are {self.W.dtype}")
        if not training:
            return _core.dense(x, self.W, self.b, self.activation, **self.act_params)
        return self._forward_train(x, reuse=False)

    def _forward_train(self, x, reuse):
        shape = (x.shape[0], self.out_features)
        y = self._buf("y", shape, self.W.dtype, reuse)
        z = self._buf("z", shape, self.W.dtype, reuse) if self.activation is not None else None
        y, z = _core.dense_forward(x, self.W, self.b, self.activation, out=(y, z), **self.act_params)
        self.x, self.z = x, z
        return y

    def _train_forward(self, x):
        return self._forward_train(x, reuse=True) if x.ndim == 2 and x.dtype == self.W.dtype \
            else self.forward(x, training=True)  # forward's checks raise the error

    def backward(self, grad_y):
        return self._backward(grad_y, True, reuse=False)

    def _train_backward(self, grad_y, need_input_grad):
        return self._backward(grad_y, need_input_grad, reuse=True)

    def _backward(self, grad_y, need_input_grad, reuse):
        """grad_x (None without need_input_grad: its product is skipped); dW and db are
        written in place."""
        if self.x is None:
            raise RuntimeError("Dense.backward: call forward(x, training=True) first")
        gx = self._buf("gx", self.x.shape, self.W.dtype, reuse) if need_input_grad else None
        gx, _, _ = _core.dense_backward(grad_y, self.x, self.W, self.z, self.activation,
                                        has_bias=self.bias, need_grad_x=need_input_grad,
                                        out=(gx, self.dW, self.db), **self.act_params)
        return gx

    def parameters(self):
        ps = [Parameter(self, "W", "dW")]
        if self.bias:
            ps.append(Parameter(self, "b", "db"))
        return ps

    def config(self):
        return {"type": "Dense", "in_features": self.in_features, "out_features": self.out_features,
                "activation": self.activation, "bias": self.bias, "init": self.init,
                "dtype": self.W.dtype.name, "act_params": self.act_params}

    def __repr__(self):
        act = f", activation={self.activation!r}" if self.activation else ""
        return f"Dense({self.in_features}, {self.out_features}{act})"


class Activation(Layer):
    """An activation as its own layer: ``Activation("tanh")``, ``Activation("softmax",
    axis=-1)``, any name of ``simdmlp.ACTIVATIONS`` with its parameters (checked here).
    Backward uses the input saved by the last training forward; for prelu the weight is a
    fixed parameter (its gradient is not kept)."""

    def __init__(self, name, **params):
        from . import ACTIVATIONS
        from . import Activation as _Bound

        if not isinstance(name, str) or name not in ACTIVATIONS:
            raise ValueError(f"Activation: unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}")
        self.name = name
        self.fn = _Bound(name, **_act_params("Activation", name, params))
        self.x = None

    @property
    def params(self):
        return self.fn.params

    def forward(self, x, training=True):
        if training:
            self.x = x
        return self.fn.forward(x)

    def backward(self, grad_y):
        if self.x is None:
            raise RuntimeError("Activation.backward: call forward(x, training=True) first")
        g = self.fn.backward(grad_y, self.x)
        return g[0] if isinstance(g, tuple) else g

    def _train_forward(self, x):
        if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
            return self.forward(x, training=True)
        self.x = x
        return self.fn.forward(x, out=self._buf("y", x.shape, x.dtype, True))

    def _train_backward(self, grad_y, need_input_grad):
        if self.name == "prelu" or self.x is None or not isinstance(grad_y, np.ndarray) \
                or grad_y.shape != self.x.shape or grad_y.dtype != self.x.dtype:
            return self.backward(grad_y)
        return self.fn.backward(grad_y, self.x, out=self._buf("gx", self.x.shape, self.x.dtype, True))

    def config(self):
        return {"type": "Activation", "name": self.name, "params": dict(self.fn.params)}

    def __repr__(self):
        return f"Activation({self.name!r})"


# --- losses ---------------------------------------------------------------------------
def _pred(where, pred):
    pred = np.asarray(pred)
    if pred.dtype not in (np.float32, np.float64):
        raise TypeError(f"{where}: predictions must be float32 or float64, got {pred.dtype}")
    if pred.size == 0:
        raise ValueError(f"{where}: empty batch (shape {pred.shape}); the mean is undefined")
    return pred


def _same_shape_target(where, pred, target):
    """target as pred's dtype and shape; a (N,) target goes with (N, 1) predictions."""
    t = np.asarray(target)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"{where}: target must be numeric, got dtype {t.dtype}")
    if t.shape != pred.shape:
        if t.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1 and t.shape[0] == pred.shape[0]:
            t = t[:, None]
        else:
            raise ValueError(f"{where}: predictions have shape {pred.shape} but target has shape {t.shape}")
    return t.astype(pred.dtype, copy=False)


class _Loss(_Workspace):
    """forward(pred, target) -> float; backward() -> dL/dpred (a new array). train_step
    runs the same code with results in arrays kept per shape (Layer._buf)."""

    def forward(self, pred, target):
        return self._forward(pred, target, reuse=False)

    def backward(self):
        return self._backward_checked(reuse=False)

    def _backward_checked(self, reuse):
        if getattr(self, "_grad_inputs", None) is None:
            raise RuntimeError(f"{type(self).__name__}.backward: call forward(pred, target) first")
        return self._backward(reuse)

    def __call__(self, pred, target):
        return self.forward(pred, target)

    def __repr__(self):
        return f"{type(self).__name__}()"


class MSELoss(_Loss):
    """Mean squared error over all N = pred.size elements (torch.nn.MSELoss, not halved):
    L = (1/N) sum (pred - target)^2; dL/dpred = 2 (pred - target) / N.
    A target of shape (N,) is taken as a column for predictions of shape (N, 1)."""

    def _forward(self, pred, target, reuse):
        pred = _pred("MSELoss", pred)
        target = _same_shape_target("MSELoss", pred, target)
        self.diff = np.subtract(pred, target, out=self._buf("diff", pred.shape, pred.dtype, reuse))
        self._grad_inputs = True
        d = self._buf("d64", pred.shape, np.float64, reuse)
        np.copyto(d, self.diff)
        return float(np.mean(np.multiply(d, d, out=d)))

    def _backward(self, reuse):
        g = np.multiply(self.diff, 2, out=self._buf("grad", self.diff.shape, self.diff.dtype, reuse))
        return np.divide(g, self.diff.size, out=g)


class SoftmaxCrossEntropyLoss(_Loss):
    """Softmax + cross-entropy on logits z (N, C), fused and stable
    (torch.nn.CrossEntropyLoss): with t the one-hot rows of integer labels (N,), or given
    rows (N, C) (one-hot or probabilities),
    L = -(1/N) sum_i sum_c t_ic log softmax(z_i)_c, log softmax from the native log-sum-exp;
    dL/dz = (softmax(z) * sum_c t_c - t) / N, that is (softmax(z) - onehot) / N."""

    def _forward(self, logits, target, reuse):
        z = _pred("SoftmaxCrossEntropyLoss", logits)
        if z.ndim != 2:
            raise ValueError(f"SoftmaxCrossEntropyLoss: logits must be 2-d (batch, classes), got shape {z.shape}")
        n, c = z.shape
        t = np.asarray(target)
        if t.ndim == 1:
            if not np.issubdtype(t.dtype, np.integer):
                if np.issubdtype(t.dtype, np.floating) and np.all(np.mod(t, 1) == 0):
                    t = t.astype(np.int64)
                else:
                    raise TypeError(f"SoftmaxCrossEntropyLoss: integer labels expected, got dtype {t.dtype}")
            if t.shape[0] != n:
                raise ValueError(f"SoftmaxCrossEntropyLoss: {t.shape[0]} labels for {n} rows of logits")
            if t.min() < 0 or t.max() >= c:
                raise ValueError(f"SoftmaxCrossEntropyLoss: labels must be in [0, {c - 1}], "
                                 f"got range [{t.min()}, {t.max()}]")
            self.onehot, self.row_sum = None, None
            # flat positions i*c + t_i of the labels' entries, and their log-probabilities
            rows = self._buf("rows", (n,), np.int64, reuse)
            if not reuse or getattr(self, "_rows_n", None) != n:
                rows[...] = np.arange(n, dtype=np.int64) * c
                self._rows_n = n if reuse else None
            self.flat = np.add(rows, t, out=self._buf("flat", (n,), np.int64, reuse), casting="unsafe")
        elif t.shape == z.shape:
            if t.dtype.kind not in "biuf":
                raise TypeError(f"SoftmaxCrossEntropyLoss: target must be numeric, got dtype {t.dtype}")
            self.onehot = t.astype(z.dtype, copy=False)
            self.row_sum = self.onehot.sum(axis=1, keepdims=True)
        else:
            raise ValueError(f"SoftmaxCrossEntropyLoss: target has shape {t.shape}, logits {z.shape}")
        logp = _core.log_softmax(z, out=self._buf("logp", z.shape, z.dtype, reuse))
        self.p = _core.softmax(z, out=self._buf("p", z.shape, z.dtype, reuse))
        self._grad_inputs = True
        if self.onehot is not None:
            return float(-np.sum(self.onehot * logp, dtype=np.float64) / n)
        picked = np.take(logp.reshape(-1), self.flat, out=self._buf("picked", (n,), z.dtype, reuse))
        return float(-np.sum(picked, dtype=np.float64) / n)

    def _backward(self, reuse):
        """(p - onehot) / N: p with 1 taken off at each label, then divided by N."""
        n = self.p.shape[0]
        g = self._buf("grad", self.p.shape, self.p.dtype, reuse)
        if self.onehot is not None:
            p = self.p if self.row_sum is None else np.multiply(self.p, self.row_sum, out=g)
            np.subtract(p, self.onehot, out=g)
        else:
            np.copyto(g, self.p)
            at = np.take(g.reshape(-1), self.flat, out=self._buf("picked", (n,), g.dtype, reuse))
            np.put(g.reshape(-1), self.flat, np.subtract(at, 1, out=at))
        return np.divide(g, n, out=g)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (torch.nn.BCEWithLogitsLoss), mean over all N
    elements, in the stable form: L = (1/N) sum [softplus(z) - z y]
    (= -y log sigmoid(z) - (1 - y) log(1 - sigmoid(z))); dL/dz = (sigmoid(z) - y) / N.
    A target of shape (N,) is taken as a column for logits of shape (N, 1)."""

    def _forward(self, logits, target, reuse):
        z = _pred("BCEWithLogitsLoss", logits)
        y = _same_shape_target("BCEWithLogitsLoss", z, target)
        self.z, self.y = z, y
        self._grad_inputs = True
        sp = self._buf("sp64", z.shape, np.float64, reuse)
        zy = self._buf("zy64", z.shape, np.float64, reuse)
        np.copyto(sp, _core.softplus(z, out=self._buf("sp", z.shape, z.dtype, reuse)))
        np.copyto(zy, z)
        np.multiply(zy, y, out=zy)
        return float(np.mean(np.subtract(sp, zy, out=sp)))

    def _backward(self, reuse):
        g = _core.sigmoid(self.z, out=self._buf("grad", self.z.shape, self.z.dtype, reuse))
        np.subtract(g, self.y, out=g)
        return np.divide(g, self.z.size, out=g)


_LOSSES = {"mse": MSELoss, "cross_entropy": SoftmaxCrossEntropyLoss, "bce_with_logits": BCEWithLogitsLoss}


# --- containers -----------------------------------------------------------------------
def _loss_obj(where, loss):
    if isinstance(loss, str):
        if loss not in _LOSSES:
            raise ValueError(f"{where}: unknown loss {loss!r}; choose from {', '.join(_LOSSES)}")
        return _LOSSES[loss]()
    if not (hasattr(loss, "forward") and hasattr(loss, "backward")):
        raise TypeError(f"{where}: loss must be a loss object or one of {', '.join(_LOSSES)}, "
                        f"got {type(loss).__name__}")
    return loss


def _check_int(where, name, value, low):
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or value < low:
        raise ValueError(f"{where}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


class Sequential(Layer):
    """Layers applied in order; ``backward`` runs them in reverse. Also the model API:
    ``fit``, ``predict``, ``evaluate``, ``save``. Every parameter has one dtype (the
    model's ``dtype``); inputs of another float dtype are refused, not silently cast."""

    def __init__(self, *layers):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: expected layers, got {type(layer).__name__}")
        dtypes = sorted({np.dtype(p.value.dtype).name for layer in layers for p in layer.parameters()})
        if len(dtypes) > 1:
            raise TypeError(f"Sequential: the layers mix dtypes {', '.join(dtypes)}; build them with one dtype")
        self.layers = list(layers)

    def forward(self, x, training=True):
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def _flat_layers(self):
        return [f for layer in self.layers
                for f in (layer._flat_layers() if isinstance(layer, Sequential) else [layer])]

    def train_step(self, X, y, loss, optimizer):
        """One training step on the batch (X, y): forward, loss, backward, optimizer.step();
        returns the batch's mean loss. Unlike forward/backward, which return new arrays,
        it keeps every intermediate in arrays reused by the next step of the same batch
        size, so after the first step it allocates nothing of the batch's size, and it
        skips the gradient for X itself (the first layer's grad_x product). X must already
        have the model's dtype (fit converts it once). What fit runs per batch."""
        layers = self._flat_layers()
        x = X
        for layer in layers:
            x = layer._train_forward(x)
        value = loss._forward(x, y, reuse=True) if isinstance(loss, _Loss) else loss.forward(x, y)
        g = loss._backward_checked(reuse=True) if isinstance(loss, _Loss) else loss.backward()
        for i in range(len(layers) - 1, -1, -1):
            g = layers[i]._train_backward(g, need_input_grad=i > 0)
        optimizer.step()
        return value

    @property
    def dtype(self):
        params = self.parameters()
        return np.dtype(params[0].value.dtype) if params else np.dtype(np.float32)

    @property
    def in_features(self):
        for layer in self.layers:
            nf = getattr(layer, "in_features", None)
            if nf is not None:
                return nf
        return None

    # -- the model API --
    def _check_xy(self, fn, X, y=None):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"{fn}: X must be 2-d (samples, features), got shape {X.shape}")
        nf = self.in_features
        if nf is not None and X.shape[1] != nf:
            raise ValueError(f"{fn}: X has {X.shape[1]} features but the model expects {nf}")
        if X.dtype.kind == "f" and X.dtype != self.dtype:
            raise TypeError(f"{fn}: X has dtype {X.dtype} but the model's parameters are {self.dtype}; "
                            f"convert X (X.astype(np.{self.dtype.name})) or build the model with "
                            f"dtype=np.{X.dtype.name}")
        if X.dtype.kind not in "biuf":
            raise TypeError(f"{fn}: X has dtype {X.dtype}, expected numbers")
        X = np.ascontiguousarray(X, dtype=self.dtype)
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{fn}: X contains NaN or infinity")
        if y is not None:
            y = np.asarray(y)
            if y.ndim == 0:
                raise ValueError(f"{fn}: y must have one entry (or row) per sample, got a scalar")
            if y.dtype.kind not in "biuf":
                raise TypeError(f"{fn}: y has dtype {y.dtype}, expected numbers")
            if y.shape[0] != X.shape[0]:
                raise ValueError(f"{fn}: X has {X.shape[0]} samples but y has {y.shape[0]}")
            if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
                raise ValueError(f"{fn}: y contains NaN or infinity")
        return X, y

    def predict(self, X, batch_size=1024):
        """Forward pass in inference mode (no state kept), in batches of ``batch_size`` rows:
        the model's outputs (logits for a classifier without an output activation)."""
        batch_size = _check_int("predict", "batch_size", batch_size, 1)
        X, _ = self._check_xy("predict", X)
        outs = [self.forward(X[i:i + batch_size], training=False) for i in range(0, X.shape[0], batch_size)]
        return np.concatenate(outs) if outs else self.forward(X, training=False)

    def evaluate(self, X, y, loss=None, batch_size=1024):
        """{"loss": mean loss over (X, y)} and, for SoftmaxCrossEntropyLoss, "accuracy"
        (argmax of the logits against the labels, or the argmax of one-hot rows); for
        BCEWithLogitsLoss, "accuracy" of (logit > 0) against (target > 0.5). ``loss``
        defaults to the one of the last ``fit`` (else cross-entropy)."""
        loss = self._loss(loss, "evaluate")
        X, y = self._check_xy("evaluate", X, y)
        pred = self.predict(X, batch_size)
        out = {"loss": loss.forward(pred, y)}
        if isinstance(loss, SoftmaxCrossEntropyLoss):
            labels = y if y.ndim == 1 else np.argmax(y, axis=1)
            out["accuracy"] = float(np.mean(np.argmax(pred, axis=1) == labels))
        elif isinstance(loss, BCEWithLogitsLoss):
            out["accuracy"] = float(np.mean((pred.reshape(y.shape) > 0) == (y > 0.5)))
        return out

    def _loss(self, loss, where):
        if loss is None:
            return getattr(self, "_last_loss", None) or SoftmaxCrossEntropyLoss()
        return _loss_obj(where, loss)

    def fit(self, X, y, epochs=1, batch_size=32, loss=None, optimizer=None, validation_data=None,
            shuffle=True, rng=None, verbose=True):
        """Minibatch training. ``loss``: a loss object or "mse" / "cross_entropy" /
        "bce_with_logits" (default cross_entropy); ``optimizer``: an optimizer over
        ``self.parameters()`` (default Adam(lr=1e-3)). With ``shuffle`` each epoch visits
        the samples in the order ``rng.permutation(n)`` (``rng`` an int or Generator: the
        same seed gives the same batches), else in order; the last batch may be smaller.
        ``verbose``: a progress bar on a terminal, else one line per epoch.
        Returns the history: per-epoch lists "loss" (mean training loss over the epoch's
        batches, weighted by batch size) and, with ``validation_data=(X_val, y_val)``,
        "val_loss" (and "val_accuracy" for the classification losses) after each epoch."""
        from .optim import Adam

        loss = self._loss(loss, "fit")
        epochs = _check_int("fit", "epochs", epochs, 0)
        batch_size = _check_int("fit", "batch_size", batch_size, 1)
        X, y = self._check_xy("fit", X, y)
        if X.shape[0] == 0:
            raise ValueError("fit: X has no samples")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("fit: validation_data must be a pair (X_val, y_val)")
            validation_data = self._check_xy("fit (validation_data)", *validation_data)
        if optimizer is None:
            optimizer = Adam(self.parameters())
        elif not callable(getattr(optimizer, "step", None)):
            raise TypeError(f"fit: optimizer must have a step() method, got {type(optimizer).__name__}")
        mine = {(id(p.layer), p.name) for p in self.parameters() if hasattr(p, "layer")}
        theirs = {(id(p.layer), p.name) for p in getattr(optimizer, "params", ()) if hasattr(p, "layer")}
        if mine and theirs and not (mine & theirs):
            raise ValueError("fit: the optimizer holds none of this model's parameters; "
                             "build it from model.parameters()")
        if isinstance(loss, SoftmaxCrossEntropyLoss) and y.ndim == 1:
            out_dim = self.forward(X[:1], training=False).shape[1]
            if not np.issubdtype(y.dtype, np.integer) and not np.all(np.mod(y, 1) == 0):
                raise TypeError("fit: cross-entropy labels must be integers")
            if y.min() < 0 or y.max() >= out_dim:
                raise ValueError(f"fit: labels must be in [0, {out_dim - 1}], got [{y.min()}, {y.max()}]")
        if isinstance(loss, (MSELoss, BCEWithLogitsLoss)) and y.dtype != X.dtype:
            y = np.ascontiguousarray(y, dtype=X.dtype)  # once, not per batch
        gen = _rng(rng)
        self._last_loss = loss
        n = X.shape[0]
        batches = {}  # batch buffers by size: the full size and the last, smaller one

        def gather(idx):
            if len(idx) not in batches:
                batches[len(idx)] = (np.empty((len(idx),) + X.shape[1:], X.dtype),
                                     np.empty((len(idx),) + y.shape[1:], y.dtype))
            xb, yb = batches[len(idx)]
            return np.take(X, idx, axis=0, out=xb), np.take(y, idx, axis=0, out=yb)

        history = {"loss": []}
        tty = bool(verbose) and hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
        for epoch in range(epochs):
            t0 = time.perf_counter()
            order = gen.permutation(n) if shuffle else np.arange(n)
            total, seen = 0.0, 0
            nb = (n + batch_size - 1) // batch_size
            for bi in range(nb):
                idx = order[bi * batch_size:(bi + 1) * batch_size]
                xb, yb = gather(idx)
                total += self.train_step(xb, yb, loss, optimizer) * len(idx)
                seen += len(idx)
                if tty and (bi % 10 == 0 or bi == nb - 1):
                    done = int(30 * (bi + 1) / nb)
                    print(f"\repoch {epoch + 1}/{epochs} [{'=' * done}{'.' * (30 - done)}] "
                          f"loss {total / seen:.4f}", end="", flush=True)
            history["loss"].append(total / seen)
            msg = f"epoch {epoch + 1}/{epochs} loss {history['loss'][-1]:.4f}"
            if validation_data is not None:
                ev = self.evaluate(*validation_data, loss=loss)
                for k, v in ev.items():
                    history.setdefault("val_" + k, []).append(v)
                    msg += f" val_{k} {v:.4f}"
            msg += f" ({time.perf_counter() - t0:.2f} s)"
            if tty:
                print("\r" + msg + " " * 10, flush=True)
            elif verbose:
                print(msg, flush=True)
        return history

    def config(self):
        return {"type": "Sequential", "layers": [layer.config() for layer in self.layers]}

    def save(self, path):
        """Write one .npz to ``path`` (exactly that name, or a writable binary file): the
        architecture as JSON and every weight array (no pickle). ``load(path)`` restores it."""
        arrays = {"__config__": np.array(json.dumps({"format": _FORMAT, "model": self.config()}))}
        _collect_arrays(self, "", arrays)
        if hasattr(path, "write"):
            np.savez(path, **arrays)
        else:
            with open(path, "wb") as f:  # np.savez(name) would append ".npz" to a bare name
                np.savez(f, **arrays)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer).replace("\n", "\n  ") for layer in self.layers)
        return f"{type(self).__name__}(\n  {inner}\n)"


def _collect_arrays(container, prefix, arrays):
    """The arrays of ``save``: "layer{i}.W" / "layer{i}.b" for the Dense layers, and
    "layer{i}.layer{j}...." inside nested containers."""
    for i, layer in enumerate(container.layers):
        key = f"{prefix}layer{i}"
        if isinstance(layer, Sequential):
            _collect_arrays(layer, key + ".", arrays)
        elif isinstance(layer, Dense):
            arrays[key + ".W"] = layer.W
            if layer.bias:
                arrays[key + ".b"] = layer.b
        elif layer.parameters():
            raise TypeError(f"save: cannot save the parameters of a {type(layer).__name__} layer")


class MLP(Sequential):
    """A multilayer perceptron from a list of widths: ``MLP([784, 256, 10])`` is
    Dense(784, 256, activation) -> Dense(256, 10, output). Hidden layers use
    ``activation`` (fused into the Dense layer); the last uses ``output`` (None: logits).
    ``init``, ``bias``, ``dtype`` and ``rng`` go to every Dense layer (one generator, drawn
    layer after layer)."""

    def __init__(self, sizes, activation="relu", output=None, dtype=np.float32, rng=None, init="auto",
                 bias=True):
        sizes = list(sizes)
        if len(sizes) < 2 or any(not isinstance(s, (int, np.integer)) or isinstance(s, (bool, np.bool_)) or s < 1
                                 for s in sizes):
            raise ValueError(f"MLP: sizes must list at least two positive ints, got {sizes!r}")
        gen = _rng(rng)
        layers = [Dense(sizes[i], sizes[i + 1], activation if i + 2 < len(sizes) else output,
                        bias=bias, init=init, dtype=dtype, rng=gen) for i in range(len(sizes) - 1)]
        super().__init__(*layers)
        self.sizes, self.hidden_activation, self.output = [int(s) for s in sizes], activation, output

    def config(self):
        return {"type": "MLP", "sizes": self.sizes, "activation": self.hidden_activation, "output": self.output,
                "layers": [layer.config() for layer in self.layers]}


# --- load -----------------------------------------------------------------------------
def _bad(path, why):
    return ValueError(f"simdmlp.nn.load: {path!s} is not a valid simdmlp model file ({why})")


class _BadFile(Exception):
    """A reason why a model file is invalid (turned into ValueError by load)."""


_DENSE_KEYS = {"type", "in_features", "out_features", "activation", "bias", "init", "dtype", "act_params"}


def _expect(cond, why):
    if not cond:
        raise _BadFile(why)


def _build(cfg, files, key, used):
    """The layer described by ``cfg`` (its arrays under ``key`` in ``files``), checking
    every field and every array's shape and dtype before anything is allocated."""
    _expect(isinstance(cfg, dict) and isinstance(cfg.get("type"), str), f"{key or 'model'} is not an object with a type")
    kind = cfg["type"]
    if kind in ("Sequential", "MLP"):
        keys = {"type", "layers"} | ({"sizes", "activation", "output"} if kind == "MLP" else set())
        _expect(set(cfg) == keys, f"{kind} entry {key or 'model'} has keys {sorted(cfg)}, expected {sorted(keys)}")
        _expect(isinstance(cfg["layers"], list), f"{kind} entry {key or 'model'} has no list of layers")
        prefix = key + "." if key else ""
        layers = [_build(c, files, f"{prefix}layer{i}", used) for i, c in enumerate(cfg["layers"])]
        if kind == "Sequential":
            return Sequential(*layers)
        sizes, act, out = cfg["sizes"], cfg["activation"], cfg["output"]
        _expect(isinstance(sizes, list) and len(sizes) == len(layers) + 1 and all(
            isinstance(layer, Dense) for layer in layers), "the MLP entry does not match its layers")
        _expect(sizes == [layers[0].in_features] + [layer.out_features for layer in layers],
                "the MLP's sizes do not match its layers")
        _expect([layer.activation for layer in layers] == [act] * (len(layers) - 1) + [out],
                "the MLP's activations do not match its layers")
        model = MLP.__new__(MLP)
        Sequential.__init__(model, *layers)
        model.sizes, model.hidden_activation, model.output = list(sizes), act, out
        return model
    if kind == "Dense":
        _expect(set(cfg) == _DENSE_KEYS, f"Dense entry {key} has keys {sorted(cfg)}")
        for name in ("in_features", "out_features"):
            v = cfg[name]
            _expect(isinstance(v, int) and not isinstance(v, bool) and v >= 1, f"{key}: bad {name} {v!r}")
        _expect(isinstance(cfg["bias"], bool), f"{key}: bias must be true or false")
        _expect(cfg["activation"] is None or isinstance(cfg["activation"], str), f"{key}: bad activation")
        _expect(cfg["init"] == "auto" or cfg["init"] in INITS, f"{key}: bad init {cfg['init']!r}")
        _expect(cfg["dtype"] in ("float32", "float64"), f"{key}: bad dtype {cfg['dtype']!r}")
        _expect(isinstance(cfg["act_params"], dict), f"{key}: bad activation parameters")
        shapes = {"W": (cfg["in_features"], cfg["out_features"]), "b": (cfg["out_features"],)}
        for name in ("W", "b") if cfg["bias"] else ("W",):
            arr_key = f"{key}.{name}"
            _expect(arr_key in files, f"missing array {arr_key}")
            arr = files[arr_key]
            _expect(arr.shape == shapes[name] and arr.dtype == np.dtype(cfg["dtype"]),
                    f"{arr_key} has shape {arr.shape} and dtype {arr.dtype}, expected {shapes[name]} {cfg['dtype']}")
            used.add(arr_key)
        layer = Dense(cfg["in_features"], cfg["out_features"], cfg["activation"], bias=cfg["bias"], init="zeros",
                      dtype=cfg["dtype"], **cfg["act_params"])
        layer.init = cfg["init"]
        layer.W[...] = files[f"{key}.W"]
        if layer.bias:
            layer.b[...] = files[f"{key}.b"]
        return layer
    if kind == "Activation":
        _expect(set(cfg) == {"type", "name", "params"} and isinstance(cfg["name"], str)
                and isinstance(cfg["params"], dict), f"bad Activation entry {key}")
        return Activation(cfg["name"], **cfg["params"])
    raise _BadFile(f"unknown layer type {kind!r}")


def _read_npz(fh):
    with np.load(fh, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def load(path):
    """Restore a model written by ``save``: the same architecture (an MLP comes back as an
    MLP), activation parameters, dtype and bit-identical weights. Reads JSON and plain
    arrays only (allow_pickle=False) and checks every field and array shape before building
    anything: a truncated, malformed or hostile file raises ValueError and executes
    nothing. ``path`` is a file name or an open binary file. A missing file raises
    FileNotFoundError (an unreadable one, its OSError)."""
    try:
        if hasattr(path, "read"):
            files = _read_npz(path)
        else:
            # our own handle: np.load leaks the one it opens when the zip is truncated
            with open(path, "rb") as fh:
                files = _read_npz(fh)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as e:  # ValueError (pickled data), zipfile.BadZipFile, EOFError, zlib.error...
        raise _bad(path, f"cannot read it as .npz: {type(e).__name__}: {e}") from None
    if "__config__" not in files or files["__config__"].dtype.kind != "U" or files["__config__"].ndim != 0:
        raise _bad(path, "no architecture entry")
    try:
        meta = json.loads(str(files["__config__"]))
    except (ValueError, RecursionError) as e:
        raise _bad(path, f"architecture is not JSON: {type(e).__name__}: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise _bad(path, f"format is {meta.get('format') if isinstance(meta, dict) else None!r}, expected {_FORMAT}")
    if set(meta) != {"format", "model"}:
        raise _bad(path, f"top-level keys {sorted(meta)}")
    used = set()
    try:
        model = _build(meta["model"], files, "", used)
        if not isinstance(model, Sequential):
            raise _BadFile("the model entry is not a Sequential or an MLP")
    except _BadFile as e:
        raise _bad(path, str(e)) from None
    except (TypeError, ValueError, RecursionError) as e:
        raise _bad(path, f"bad layer: {type(e).__name__}: {e}") from None
    extra = set(files) - used - {"__config__"}
    if extra:
        raise _bad(path, f"unexpected arrays {sorted(extra)}")
    return model


# --- gradient check -------------------------------------------------------------------
def gradcheck(model, X, y, loss, eps=1e-6, max_checks_per_array=None, rng=0, check_input=False):
    """Compare every parameter gradient of ``model`` (from its own ``backward``) with the
    central finite differences (L(p + eps) - L(p - eps)) / (2 eps), as "Deep Learning from
    Scratch" does, in float64: on a deep copy of the model whose parameters are cast to
    float64 (the model itself is not touched). Returns the largest relative error
    |analytic - numeric| / max(|analytic| + |numeric|, floor) over the checked entries,
    floor = max(1e-3 * the array's largest |analytic| entry, 1e-8): the differences carry
    an absolute noise of ~1e-16 |L| / eps, so entries a thousand times smaller than their
    array's largest are compared in units of that scale rather than their own.
    ``max_checks_per_array`` samples that many entries per array (all by default, drawn
    with ``rng``); ``check_input=True`` also checks the gradient with respect to X (the
    value ``backward`` returns), which is how a layer without parameters is checked."""
    loss = _loss_obj("gradcheck", loss)
    m64 = _as_float64(model)
    X = np.array(X, dtype=np.float64)  # a copy: perturbed in place with check_input
    loss.forward(m64.forward(X, training=True), y)
    grad_x = m64.backward(loss.backward())
    checks = [(p.value, np.array(p.grad, dtype=np.float64)) for p in m64.parameters()]
    if check_input:
        checks.append((X, np.array(grad_x, dtype=np.float64)))
    if not any(value.size for value, _ in checks):
        raise ValueError("gradcheck: nothing to check (no parameters; pass check_input=True to check grad_x)")
    gen = _rng(rng)
    worst = 0.0
    for value, grad in checks:
        flat, gflat = value.reshape(-1), grad.reshape(-1)
        floor = max(1e-3 * float(np.max(np.abs(gflat), initial=0.0)), 1e-8)
        idx = np.arange(flat.size)
        if max_checks_per_array is not None and flat.size > max_checks_per_array:
            idx = gen.choice(flat.size, max_checks_per_array, replace=False)
        for i in idx:
            old = flat[i]
            flat[i] = old + eps
            fp = loss.forward(m64.forward(X, training=False), y)
            flat[i] = old - eps
            fm = loss.forward(m64.forward(X, training=False), y)
            flat[i] = old
            num = (fp - fm) / (2 * eps)
            ana = float(gflat[i])
            worst = max(worst, abs(ana - num) / max(abs(ana) + abs(num), floor))
    return worst


def _as_float64(model):
    """A deep copy of ``model`` with every parameter (and its gradient) in float64."""
    if not isinstance(model, Layer):
        raise TypeError(f"gradcheck: model must be a layer or a container, got {type(model).__name__}")
    m = copy.deepcopy(model)
    for p in m.parameters():
        if not isinstance(p, Parameter):
            raise TypeError(f"gradcheck: unsupported parameter {p!r}")
        setattr(p.layer, p.name, np.array(p.value, dtype=np.float64))
        setattr(p.layer, p.grad_name, np.zeros(p.value.shape, dtype=np.float64))
    return m
