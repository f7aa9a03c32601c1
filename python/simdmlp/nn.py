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

import json
import math
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


def _dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


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


class Layer:
    """Base class: ``forward(x, training=True)``, ``backward(grad_y) -> grad_x``."""

    def parameters(self):
        return []

    def config(self):
        raise NotImplementedError

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
        init_name = _auto_init(activation) if init == "auto" else init
        if init_name not in INITS:
            raise ValueError(f"Dense: init must be 'auto' or one of {', '.join(INITS)}, got {init!r}")
        dt = _dtype(dtype)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.activation, self.act_params, self.init = activation, dict(act_params), init
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
        y, z = _core.dense_forward(x, self.W, self.b, self.activation, **self.act_params)
        self.x, self.z = x, z
        return y

    def backward(self, grad_y):
        if self.x is None:
            raise RuntimeError("Dense.backward: call forward(x, training=True) first")
        gx, gW, gb = _core.dense_backward(grad_y, self.x, self.W, self.z, self.activation,
                                          has_bias=self.bias, **self.act_params)
        self.dW[...] = gW
        if self.bias:
            self.db[...] = gb
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
    axis=-1)``. Backward uses the input saved by the last training forward."""

    def __init__(self, name, **params):
        from . import Activation as _Bound

        self.name = name
        self.fn = _Bound(name, **params)  # validates the name and the parameters
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

    def config(self):
        params = {k: v for k, v in self.fn.params.items()}
        return {"type": "Activation", "name": self.name, "params": params}

    def __repr__(self):
        return f"Activation({self.name!r})"


# --- losses ---------------------------------------------------------------------------
class MSELoss:
    """Mean squared error over all elements (torch.nn.MSELoss):
    L = mean((pred - target)^2); dL/dpred = 2 (pred - target) / N, N = pred.size."""

    def forward(self, pred, target):
        pred = np.asarray(pred)
        target = np.asarray(target, dtype=pred.dtype)
        if target.shape != pred.shape:
            if target.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1 and target.shape[0] == pred.shape[0]:
                target = target[:, None]
            else:
                raise ValueError(f"MSELoss: pred has shape {pred.shape} but target has shape {target.shape}")
        self.diff = pred - target
        return float(np.mean(self.diff.astype(np.float64) ** 2))

    def backward(self):
        return (2.0 / self.diff.size) * self.diff

    __call__ = forward


class SoftmaxCrossEntropyLoss:
    """Softmax + cross-entropy, fused and stable (torch.nn.CrossEntropyLoss on logits):
    L = mean_i(logsumexp(z_i) - z_i[y_i]); dL/dz = (softmax(z) - onehot(y)) / N.
    ``target`` is integer labels (N,) or one-hot / probabilities (N, C)."""

    def forward(self, logits, target):
        z = np.asarray(logits)
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
            if t.size and (t.min() < 0 or t.max() >= c):
                raise ValueError(f"SoftmaxCrossEntropyLoss: labels must be in [0, {c - 1}], "
                                 f"got range [{t.min()}, {t.max()}]")
            onehot = np.zeros_like(z)
            onehot[np.arange(n), t] = 1
        elif t.shape == z.shape:
            onehot = t.astype(z.dtype, copy=False)
        else:
            raise ValueError(f"SoftmaxCrossEntropyLoss: target has shape {t.shape}, logits {z.shape}")
        logp = _core.log_softmax(z)
        self.p = np.exp(logp)
        self.onehot = onehot
        return float(-np.sum(onehot * logp, dtype=np.float64) / n)

    def backward(self):
        n = self.p.shape[0]
        return (self.p - self.onehot) * (1.0 / n)

    __call__ = forward


class BCEWithLogitsLoss:
    """Binary cross-entropy on logits (torch.nn.BCEWithLogitsLoss), stable:
    L = mean(softplus(z) - z y); dL/dz = (sigmoid(z) - y) / N, N = z.size."""

    def forward(self, logits, target):
        z = np.asarray(logits)
        y = np.asarray(target, dtype=z.dtype)
        if y.shape != z.shape:
            if y.ndim == 1 and z.ndim == 2 and z.shape[1] == 1 and y.shape[0] == z.shape[0]:
                y = y[:, None]
            else:
                raise ValueError(f"BCEWithLogitsLoss: logits have shape {z.shape} but target has shape {y.shape}")
        self.z, self.y = z, y
        return float(np.mean(_core.softplus(z).astype(np.float64) - z.astype(np.float64) * y))

    def backward(self):
        return (_core.sigmoid(self.z) - self.y) * (1.0 / self.z.size)

    __call__ = forward


_LOSSES = {"mse": MSELoss, "cross_entropy": SoftmaxCrossEntropyLoss, "bce_with_logits": BCEWithLogitsLoss}


# --- containers -----------------------------------------------------------------------
class Sequential(Layer):
    """Layers applied in order; ``backward`` runs them in reverse. Also the model API:
    ``fit``, ``predict``, ``evaluate``, ``save``."""

    def __init__(self, *layers):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: expected layers, got {type(layer).__name__}")
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

    @property
    def dtype(self):
        for layer in self.layers:
            if isinstance(layer, Dense):
                return layer.dtype
        return np.dtype(np.float32)

    @property
    def in_features(self):
        for layer in self.layers:
            if isinstance(layer, Dense):
                return layer.in_features
        return None

    # -- the model API --
    def _check_xy(self, fn, X, y=None):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"{fn}: X must be 2-d (samples, features), got shape {X.shape}")
        nf = self.in_features
        if nf is not None and X.shape[1] != nf:
            raise ValueError(f"{fn}: X has {X.shape[1]} features but the model expects {nf}")
        if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
            raise TypeError(f"{fn}: X has dtype {X.dtype}, expected numbers")
        X = np.ascontiguousarray(X, dtype=self.dtype)
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{fn}: X contains NaN or infinity")
        if y is not None:
            y = np.asarray(y)
            if y.shape[0] != X.shape[0]:
                raise ValueError(f"{fn}: X has {X.shape[0]} samples but y has {y.shape[0]}")
            if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y)):
                raise ValueError(f"{fn}: y contains NaN or infinity")
        return X, y

    def predict(self, X, batch_size=1024):
        """Forward pass in inference mode (no state kept), in batches."""
        X, _ = self._check_xy("predict", X)
        outs = [self.forward(X[i:i + batch_size], training=False) for i in range(0, X.shape[0], batch_size)]
        return np.concatenate(outs) if outs else self.forward(X, training=False)

    def evaluate(self, X, y, loss=None, batch_size=1024):
        """Mean loss over (X, y) and, for classification losses, accuracy."""
        loss = self._loss(loss)
        X, y = self._check_xy("evaluate", X, y)
        pred = self.predict(X, batch_size)
        out = {"loss": loss.forward(pred, y)}
        if isinstance(loss, SoftmaxCrossEntropyLoss):
            labels = y if y.ndim == 1 else np.argmax(y, axis=1)
            out["accuracy"] = float(np.mean(np.argmax(pred, axis=1) == labels))
        elif isinstance(loss, BCEWithLogitsLoss):
            out["accuracy"] = float(np.mean((pred.reshape(y.shape) > 0) == (y > 0.5)))
        return out

    def _loss(self, loss):
        if loss is None:
            loss = getattr(self, "_last_loss", None) or SoftmaxCrossEntropyLoss()
        if isinstance(loss, str):
            if loss not in _LOSSES:
                raise ValueError(f"unknown loss {loss!r}; choose from {', '.join(_LOSSES)}")
            loss = _LOSSES[loss]()
        return loss

    def fit(self, X, y, epochs=1, batch_size=32, loss=None, optimizer=None, validation_data=None,
            shuffle=True, rng=None, verbose=True):
        """Minibatch training. ``loss``: a loss object or "mse" / "cross_entropy" /
        "bce_with_logits" (default cross_entropy); ``optimizer``: an optimizer over
        ``self.parameters()`` (default Adam(lr=1e-3)). Shuffling draws from ``rng``.
        Returns the history: per-epoch lists "loss" (mean training loss) and, with
        validation data, "val_loss" (and "val_accuracy" for classification)."""
        from .optim import Adam

        loss = self._loss(loss)
        self._last_loss = loss
        if optimizer is None:
            optimizer = Adam(self.parameters())
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"fit: batch_size must be an int >= 1, got {batch_size!r}")
        X, y = self._check_xy("fit", X, y)
        if isinstance(loss, SoftmaxCrossEntropyLoss) and y.ndim == 1:
            out_dim = self.forward(X[:1], training=False).shape[1]
            if not np.issubdtype(y.dtype, np.integer) and not np.all(np.mod(y, 1) == 0):
                raise TypeError("fit: cross-entropy labels must be integers")
            if y.size and (y.min() < 0 or y.max() >= out_dim):
                raise ValueError(f"fit: labels must be in [0, {out_dim - 1}], got [{y.min()}, {y.max()}]")
        gen = _rng(rng)
        n = X.shape[0]
        history = {"loss": []}
        tty = verbose and hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
        for epoch in range(epochs):
            t0 = time.perf_counter()
            order = gen.permutation(n) if shuffle else np.arange(n)
            total, seen = 0.0, 0
            nb = (n + batch_size - 1) // batch_size
            for bi in range(nb):
                idx = order[bi * batch_size:(bi + 1) * batch_size]
                xb, yb = X[idx], y[idx]
                out = self.forward(xb, training=True)
                total += loss.forward(out, yb) * len(idx)
                seen += len(idx)
                self.backward(loss.backward())
                optimizer.step()
                if tty and (bi % 10 == 0 or bi == nb - 1):
                    done = int(30 * (bi + 1) / nb)
                    print(f"\repoch {epoch + 1}/{epochs} [{'=' * done}{'.' * (30 - done)}] "
                          f"loss {total / seen:.4f}", end="", flush=True)
            history["loss"].append(total / max(seen, 1))
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
        """Write one .npz: the architecture as JSON and every weight array (no pickle)."""
        arrays = {"__config__": np.array(json.dumps({"format": _FORMAT, "model": self.config()}))}
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dense):
                arrays[f"layer{i}.W"] = layer.W
                if layer.bias:
                    arrays[f"layer{i}.b"] = layer.b
        np.savez(path, **arrays)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"{type(self).__name__}(\n  {inner}\n)"


class MLP(Sequential):
    """A multilayer perceptron from a list of widths: ``MLP([784, 256, 10])`` is
    Dense(784, 256, activation) -> Dense(256, 10, output). Hidden layers use
    ``activation`` (fused into the Dense layer); the last uses ``output`` (None: logits)."""

    def __init__(self, sizes, activation="relu", output=None, dtype=np.float32, rng=None, init="auto",
                 bias=True):
        sizes = list(sizes)
        if len(sizes) < 2 or any(not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
            raise ValueError(f"MLP: sizes must list at least two positive ints, got {sizes!r}")
        gen = _rng(rng)
        layers = [Dense(sizes[i], sizes[i + 1], activation if i + 2 < len(sizes) else output,
                        bias=bias, init=init, dtype=dtype, rng=gen) for i in range(len(sizes) - 1)]
        super().__init__(*layers)
        self.sizes, self.hidden_activation, self.output = sizes, activation, output


# --- load -----------------------------------------------------------------------------
def _bad(path, why):
    return ValueError(f"simdmlp.nn.load: {path!s} is not a valid simdmlp model file ({why})")


def _build(cfg, path):
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise _bad(path, "a layer entry is not an object with a type")
    kind = cfg["type"]
    if kind == "Dense":
        keys = {"in_features", "out_features", "activation", "bias", "init", "dtype", "act_params"}
        if set(cfg) - {"type"} != keys:
            raise _bad(path, f"Dense entry has keys {sorted(cfg)}")
        if not isinstance(cfg["act_params"], dict) or not all(
                isinstance(v, (int, float, str)) for v in cfg["act_params"].values()):
            raise _bad(path, "bad activation parameters")
        return Dense(cfg["in_features"], cfg["out_features"], cfg["activation"], bias=bool(cfg["bias"]),
                     init="zeros", dtype=cfg["dtype"], **cfg["act_params"])
    if kind == "Activation":
        params = cfg.get("params", {})
        if not isinstance(params, dict) or not isinstance(cfg.get("name"), str):
            raise _bad(path, "bad Activation entry")
        return Activation(cfg["name"], **params)
    raise _bad(path, f"unknown layer type {kind!r}")


def load(path):
    """Restore a model written by ``save``: the same architecture and bit-identical
    weights. Reads JSON and plain arrays only (allow_pickle=False); a truncated,
    malformed or hostile file raises ValueError and executes nothing."""
    try:
        with np.load(path, allow_pickle=False) as f:
            files = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, KeyError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise _bad(path, f"cannot read it as .npz: {e}") from None
    except Exception as e:  # zipfile.BadZipFile and friends
        raise _bad(path, f"cannot read it as .npz: {type(e).__name__}: {e}") from None
    if "__config__" not in files or files["__config__"].dtype.kind != "U" or files["__config__"].ndim != 0:
        raise _bad(path, "no architecture entry")
    try:
        meta = json.loads(str(files["__config__"]))
    except json.JSONDecodeError as e:
        raise _bad(path, f"architecture is not JSON: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise _bad(path, f"format is {meta.get('format') if isinstance(meta, dict) else None!r}, expected {_FORMAT}")
    model_cfg = meta.get("model")
    if not isinstance(model_cfg, dict) or model_cfg.get("type") != "Sequential" or not isinstance(
            model_cfg.get("layers"), list):
        raise _bad(path, "the model entry is not a Sequential")
    try:
        layers = [_build(c, path) for c in model_cfg["layers"]]
    except (TypeError, ValueError) as e:
        if isinstance(e, ValueError) and str(e).startswith("simdmlp.nn.load"):
            raise
        raise _bad(path, f"bad layer: {e}") from None
    expected = set()
    for i, layer in enumerate(layers):
        if isinstance(layer, Dense):
            for name in ("W", "b") if layer.bias else ("W",):
                key = f"layer{i}.{name}"
                expected.add(key)
                if key not in files:
                    raise _bad(path, f"missing array {key}")
                arr = files[key]
                target = getattr(layer, name)
                if arr.shape != target.shape or arr.dtype != target.dtype:
                    raise _bad(path, f"{key} has shape {arr.shape} and dtype {arr.dtype}, "
                                     f"expected {target.shape} {target.dtype}")
                target[...] = arr
    extra = set(files) - expected - {"__config__"}
    if extra:
        raise _bad(path, f"unexpected arrays {sorted(extra)}")
    return Sequential(*layers)


# --- gradient check -------------------------------------------------------------------
def gradcheck(model, X, y, loss, eps=1e-6, max_checks_per_array=None, rng=0):
    """Compare every parameter gradient of ``model`` (from backward) with central finite
    differences (f(p + eps) - f(p - eps)) / 2 eps, as "Deep Learning from Scratch" does,
    in float64 on a float64 copy of the model. Returns the largest relative error
    |analytic - numeric| / max(|analytic| + |numeric|, 1e-8). ``max_checks_per_array``
    samples that many entries per array (all by default)."""
    if isinstance(loss, str):
        loss = _LOSSES[loss]()
    m64 = _as_float64(model)
    X = np.ascontiguousarray(X, dtype=np.float64)
    m64.forward(X, training=True)
    loss.forward(m64.forward(X, training=True), y)
    m64.backward(loss.backward())
    gen = _rng(rng)
    worst = 0.0
    for p in m64.parameters():
        value, grad = p.value, p.grad.copy()
        flat = value.reshape(-1)
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
            ana = grad.reshape(-1)[i]
            worst = max(worst, abs(ana - num) / max(abs(ana) + abs(num), 1e-8))
    return worst


def _as_float64(model):
    layers = []
    src_layers = model.layers if isinstance(model, Sequential) else [model]
    for layer in src_layers:
        if isinstance(layer, Dense):
            d = Dense(layer.in_features, layer.out_features, layer.activation, bias=layer.bias, init="zeros",
                      dtype=np.float64, **layer.act_params)
            d.W[...] = layer.W
            if layer.bias:
                d.b[...] = layer.b
            layers.append(d)
        elif isinstance(layer, Activation):
            layers.append(Activation(layer.name, **layer.fn.params))
        else:
            raise TypeError(f"gradcheck: unsupported layer {type(layer).__name__}")
    return Sequential(*layers)
