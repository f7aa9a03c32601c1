"""simdmlp.nn: layer gradients (finite differences), losses and MLP training against
simdmlp.reference (and PyTorch when installed), digits accuracy, save/load, fit, and bad
input."""
from __future__ import annotations

import io
import json
import math
import pickle
import re
import sys

import numpy as np
import pytest

import simdmlp
from simdmlp import nn, optim
from simdmlp import reference as R

DTYPES = (np.float32, np.float64)

#: gradcheck's bound. Central differences with eps = 1e-6 in float64 are off by
#: O(eps^2) ~ 1e-12 (truncation) plus ~1e-16 |L| / eps ~ 1e-10 (rounding), relative to
#: gradient entries >= ~1e-4 here: a few 1e-7 at most (measured: <= 2e-6). A wrong
#: backward is off by O(1) (see test_gradcheck_detects_*).
GRADCHECK_TOL = 1e-5

DENSE_ACTIVATIONS = [
    (None, {}), ("relu", {}), ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("tanh", {}), ("softplus", {}),
    ("softplus", {"beta": 2.0}), ("sigmoid", {}), ("silu", {}), ("elu", {"alpha": 0.5}),
    ("leaky_relu", {"negative_slope": 0.1}), ("mish", {}), ("selu", {}),
]


def _act_id(a):
    name, kw = a
    return f"{name}" + "".join(f"-{k}={v}" for k, v in kw.items())


def _data(n=6, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, features)), rng.standard_normal((n, classes)),
            rng.integers(0, classes, n))


# --- gradients: every layer against finite differences --------------------------------
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("act", DENSE_ACTIVATIONS, ids=_act_id)
def test_dense_backward_gradcheck(act, bias):
    name, kw = act
    X, y_reg, y_cls = _data()
    d = nn.Dense(5, 3, name, bias=bias, dtype=np.float64, rng=1, **kw)
    assert nn.gradcheck(d, X, y_reg, nn.MSELoss(), check_input=True) < GRADCHECK_TOL
    assert nn.gradcheck(d, X, y_cls, nn.SoftmaxCrossEntropyLoss(), check_input=True) < GRADCHECK_TOL


@pytest.mark.parametrize("name, kw", [
    ("relu", {}), ("tanh", {}), ("sigmoid", {}), ("gelu", {}), ("softplus", {}), ("hardswish", {}),
    ("celu", {"alpha": 0.5}), ("prelu", {"weight": [0.1, 0.2, 0.3, 0.4, 0.5]}), ("prelu", {"weight": 0.3}),
    ("softmax", {}), ("softmax", {"axis": 0}), ("log_softmax", {}),
], ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}={x}" for k, x in v.items()))
def test_activation_layer_gradcheck(name, kw):
    """An Activation layer has no parameters: its backward is checked as grad_x, and as
    the gradient reaching the Dense layer before it."""
    X, _, _ = _data()
    target = np.random.default_rng(1).standard_normal((6, 5))
    layer = nn.Activation(name, **kw)
    assert nn.gradcheck(nn.Sequential(layer), X, target, nn.MSELoss(), check_input=True) < GRADCHECK_TOL
    model = nn.Sequential(nn.Dense(5, 5, dtype=np.float64, rng=2), nn.Activation(name, **kw),
                          nn.Dense(5, 3, dtype=np.float64, rng=3))
    assert nn.gradcheck(model, X, np.array([0, 1, 2, 0, 1, 2]), "cross_entropy") < GRADCHECK_TOL


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu", "silu"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "bce_with_logits"])
def test_mlp_gradcheck(activation, loss):
    """A float32 MLP (gradcheck works on a float64 copy) with every loss."""
    X, _, _ = _data(n=8, features=4)
    rng = np.random.default_rng(5)
    out, y = {"mse": (2, rng.standard_normal((8, 2))), "cross_entropy": (3, rng.integers(0, 3, 8)),
              "bce_with_logits": (1, rng.integers(0, 2, 8).astype(np.float64))}[loss]
    model = nn.MLP([4, 7, 6, out], activation=activation, rng=0)
    assert nn.gradcheck(model, X, y, loss, check_input=True) < GRADCHECK_TOL


def test_nested_sequential_gradcheck():
    X, _, y = _data()
    inner = nn.Sequential(nn.Dense(5, 4, "tanh", rng=1), nn.Activation("softmax"))
    model = nn.Sequential(inner, nn.Dense(4, 3, "softplus", rng=2), nn.Dense(3, 3, rng=3))
    assert len(model.parameters()) == 6
    assert nn.gradcheck(model, X, y, nn.SoftmaxCrossEntropyLoss(), check_input=True) < GRADCHECK_TOL


class _DenseWrongDW(nn.Dense):
    def backward(self, grad_y):
        gx = super().backward(grad_y)
        self.dW *= 1.5
        return gx


class _DenseWrongGradX(nn.Dense):
    def backward(self, grad_y):
        return super().backward(grad_y) * 1.5


class _TanhAsIdentity(nn.Activation):
    def backward(self, grad_y):
        return grad_y


@pytest.mark.parametrize("model, check_input", [
    (nn.Sequential(_DenseWrongDW(5, 3, "tanh", dtype=np.float64, rng=1)), False),
    # a wrong grad_x is seen in the layer before it, or directly with check_input
    (nn.Sequential(nn.Dense(5, 4, dtype=np.float64, rng=1), _DenseWrongGradX(4, 3, dtype=np.float64, rng=2)),
     False),
    (nn.Sequential(_DenseWrongGradX(5, 3, dtype=np.float64, rng=2)), True),
    (nn.Sequential(nn.Dense(5, 4, dtype=np.float64, rng=1), _TanhAsIdentity("tanh"),
                   nn.Dense(4, 3, dtype=np.float64, rng=2)), False),
], ids=["wrong-dW", "wrong-grad_x-upstream", "wrong-grad_x-input", "wrong-activation"])
def test_gradcheck_detects_a_wrong_backward(model, check_input):
    X, _, y = _data()
    err = nn.gradcheck(model, X, y, nn.SoftmaxCrossEntropyLoss(), check_input=check_input)
    assert err > 0.05


def test_gradcheck_leaves_the_model_alone():
    X, _, y = _data()
    model = nn.MLP([5, 4, 3], activation="tanh", rng=0)
    before = [p.value.copy() for p in model.parameters()]
    values = [p.value for p in model.parameters()]
    nn.gradcheck(model, X, y, "cross_entropy")
    for p, b, v in zip(model.parameters(), before, values):
        assert p.value is v and p.value.dtype == np.float32
        np.testing.assert_array_equal(p.value, b)


def test_gradcheck_sampling_and_nothing_to_check():
    X, _, y = _data()
    model = nn.MLP([5, 16, 3], activation="tanh", dtype=np.float64, rng=0)
    assert nn.gradcheck(model, X, y, "cross_entropy", max_checks_per_array=5) < GRADCHECK_TOL
    with pytest.raises(ValueError, match="gradcheck: nothing to check"):
        nn.gradcheck(nn.Sequential(nn.Activation("tanh")), X, X, nn.MSELoss())
    with pytest.raises(ValueError, match="gradcheck: unknown loss 'hinge'"):
        nn.gradcheck(model, X, y, "hinge")


def test_dense_backward_overwrites_and_keeps_its_arrays():
    X, _, _ = _data()
    d = nn.Dense(5, 3, "tanh", dtype=np.float64, rng=1)
    g = np.ones((6, 3))
    d.forward(X)
    dW, db = d.dW, d.db
    d.backward(g)
    first = d.dW.copy(), d.db.copy()
    d.backward(g)
    assert d.dW is dW and d.db is db
    np.testing.assert_array_equal(d.dW, first[0])
    np.testing.assert_array_equal(d.db, first[1])
    np.testing.assert_array_equal(g, 1.0)  # arguments are not mutated


# --- losses against the reference formulas --------------------------------------------
#: SPEC bounds: softmax/log_softmax |err| <= 2^-20 |exact| + 2^-24 (float32),
#: 2^-48 |exact| + 2^-52 (float64); elementwise functions (softplus, sigmoid) 4 ulp.
REL = {np.float32: 2.0**-19, np.float64: 2.0**-47}
ABS = {np.float32: 2.0**-22, np.float64: 2.0**-50}


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_loss(dtype):
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal((7, 3)).astype(dtype), rng.standard_normal((7, 3)).astype(dtype)
    loss = nn.MSELoss()
    value = loss.forward(pred, target)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, R.mse_loss(pred, target), rtol=REL[dtype])
    grad = loss.backward()
    assert grad.dtype == dtype
    np.testing.assert_array_equal(grad, R.mse_loss_backward(pred, target))  # same three roundings
    np.testing.assert_allclose(value, np.mean((pred.astype(np.float64) - target) ** 2), rtol=REL[dtype])
    # a (N,) target for (N, 1) predictions
    col = pred[:, :1]
    assert loss.forward(col, target[:, 0]) == nn.MSELoss().forward(col, target[:, :1])
    assert loss.backward().shape == (7, 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy(dtype):
    rng = np.random.default_rng(1)
    z = (rng.standard_normal((9, 4)) * 3).astype(dtype)
    labels = rng.integers(0, 4, 9)
    onehot = R.one_hot(labels, 4, dtype)
    loss = nn.SoftmaxCrossEntropyLoss()
    value = loss.forward(z, labels)
    grad = loss.backward()
    assert grad.dtype == dtype and grad.shape == z.shape
    want = R.softmax_cross_entropy(z, labels)
    np.testing.assert_allclose(value, want, rtol=REL[dtype], atol=ABS[dtype])
    # (softmax(z) - onehot) / N in float64 on the same logits, within the softmax bound
    want_grad = R.softmax_cross_entropy_backward(z.astype(np.float64), labels)
    np.testing.assert_allclose(grad, want_grad, rtol=REL[dtype], atol=2 * REL[dtype] / 9)
    # labels, one-hot rows and integral float labels are the same loss, bit for bit
    for target in (onehot, onehot.astype(np.int64), labels.astype(np.float64)):
        assert loss.forward(z, target) == value
        np.testing.assert_array_equal(loss.backward(), grad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_probability_targets(dtype):
    """Rows of probabilities: L = -mean sum t log p, dL/dz = (p sum(t) - t) / N."""
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5, 3)).astype(dtype)
    t = rng.random((5, 3))
    t = (t / t.sum(axis=1, keepdims=True)).astype(dtype)
    loss = nn.SoftmaxCrossEntropyLoss()
    np.testing.assert_allclose(loss.forward(z, t), R.softmax_cross_entropy(z, t), rtol=REL[dtype], atol=ABS[dtype])
    np.testing.assert_allclose(loss.backward(), R.softmax_cross_entropy_backward(z.astype(np.float64), t),
                               rtol=REL[dtype], atol=2 * REL[dtype] / 5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_extreme_logits(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]], dtype=dtype)
    labels = np.array([0, 2, 1])
    loss = nn.SoftmaxCrossEntropyLoss()
    value = loss.forward(z, labels)   # row losses 0, 2e4, log 3
    assert value == pytest.approx((0 + 2e4 + math.log(3)) / 3, rel=REL[dtype])
    grad = loss.backward()
    assert np.all(np.isfinite(grad))
    want = np.array([[0, 0, 0], [0, 1, -1], [1 / 3, -2 / 3, 1 / 3]]) / 3
    np.testing.assert_allclose(grad, want, rtol=REL[dtype], atol=ABS[dtype])
    assert R.softmax_cross_entropy(z, labels) == pytest.approx(value, rel=REL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits(dtype):
    rng = np.random.default_rng(3)
    z = (rng.standard_normal((8, 2)) * 4).astype(dtype)
    y = rng.integers(0, 2, (8, 2)).astype(dtype)
    loss = nn.BCEWithLogitsLoss()
    value = loss.forward(z, y)
    # softplus(z) - z y cancels for large z with y = 1: an absolute error of ulps of |z|
    np.testing.assert_allclose(value, R.bce_with_logits(z, y), rtol=REL[dtype],
                               atol=ABS[dtype] * np.max(np.abs(z)))
    grad = loss.backward()
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, R.bce_with_logits_backward(z.astype(np.float64), y), rtol=REL[dtype],
                               atol=ABS[dtype] / z.size)
    # the textbook form where it does not overflow
    s = 1 / (1 + np.exp(-z.astype(np.float64)))
    np.testing.assert_allclose(value, np.mean(-y * np.log(s) - (1 - y) * np.log(1 - s)), rtol=1e-5)
    # (N,) targets for (N, 1) logits
    assert loss.forward(z[:, :1], y[:, 0]) == nn.BCEWithLogitsLoss().forward(z[:, :1], y[:, :1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_extreme_logits(dtype):
    z = np.array([[1e4], [-1e4], [1e4], [-1e4]], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = nn.BCEWithLogitsLoss()
    assert loss.forward(z, y) == 5e3          # row losses 0, 0, 1e4, 1e4
    np.testing.assert_array_equal(loss.backward(), np.array([[0], [0], [1], [-1]], dtype=dtype) / 4)
    assert R.bce_with_logits(z, y) == 5e3


def test_loss_errors():
    ce = nn.SoftmaxCrossEntropyLoss()
    z = np.zeros((3, 4), np.float32)
    for labels in ([0, 1, 4], [-1, 0, 0]):
        with pytest.raises(ValueError, match=r"SoftmaxCrossEntropyLoss: labels must be in \[0, 3\]"):
            ce.forward(z, np.array(labels))
    with pytest.raises(TypeError, match="SoftmaxCrossEntropyLoss: integer labels expected"):
        ce.forward(z, np.array([0.5, 1, 2]))
    with pytest.raises(ValueError, match="SoftmaxCrossEntropyLoss: 2 labels for 3 rows"):
        ce.forward(z, np.array([0, 1]))
    with pytest.raises(ValueError, match="SoftmaxCrossEntropyLoss: target has shape"):
        ce.forward(z, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="SoftmaxCrossEntropyLoss: logits must be 2-d"):
        ce.forward(np.zeros((2, 3, 4)), np.zeros(2, int))
    with pytest.raises(ValueError, match="SoftmaxCrossEntropyLoss: empty batch"):
        ce.forward(np.zeros((0, 4)), np.zeros(0, int))
    with pytest.raises(ValueError, match=r"MSELoss: predictions have shape \(3, 4\) but target has shape \(4, 3\)"):
        nn.MSELoss().forward(z, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="BCEWithLogitsLoss: predictions have shape"):
        nn.BCEWithLogitsLoss().forward(z, np.zeros(3))
    with pytest.raises(TypeError, match="MSELoss: predictions must be float32 or float64"):
        nn.MSELoss().forward(np.zeros((2, 2), int), np.zeros((2, 2)))
    for cls in (nn.MSELoss, nn.SoftmaxCrossEntropyLoss, nn.BCEWithLogitsLoss):
        with pytest.raises(RuntimeError, match=f"{cls.__name__}.backward: call forward"):
            cls().backward()


# --- training trajectories: native MLP = reference MLP (= PyTorch) --------------------
TRAJECTORIES = [
    # (hidden activation, act params, loss, optimizer class, hyper-parameters)
    ("relu", {}, "cross_entropy", optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("tanh", {}, "cross_entropy", optim.Adam, dict(lr=1e-2, weight_decay=1e-2)),
    ("gelu", {}, "mse", optim.AdamW, dict(lr=1e-2, betas=(0.8, 0.99))),
    ("gelu", {"approximate": "tanh"}, "cross_entropy", optim.SGD, dict(lr=0.05, momentum=0.5, dampening=0.1)),
    ("silu", {}, "bce_with_logits", optim.RMSprop, dict(lr=1e-3, centered=True, momentum=0.5)),
    ("sigmoid", {}, "cross_entropy", optim.RMSprop, dict(lr=1e-2, weight_decay=1e-2)),
    ("softplus", {}, "mse", optim.AdaGrad, dict(lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1)),
    ("elu", {}, "cross_entropy", optim.Adam, {}),
]
TRAJ_STEPS, TRAJ_BATCH = 8, 16


def _traj_id(t):
    return f"{t[0]}{''.join(f'-{v}' for v in t[1].values())}-{t[2]}-{t[3].__name__}"


def _traj_problem(loss, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((TRAJ_STEPS * TRAJ_BATCH // 2, 6))
    out, y = {"mse": (2, rng.standard_normal((len(X), 2))), "cross_entropy": (4, rng.integers(0, 4, len(X))),
              "bce_with_logits": (1, rng.integers(0, 2, len(X)).astype(np.float64))}[loss]
    return X, y, out


def _batches(n):
    """Step k trains on rows [16 (k mod 4), 16 (k mod 4) + 16): two passes over the data."""
    for k in range(TRAJ_STEPS):
        lo = (k % (n // TRAJ_BATCH)) * TRAJ_BATCH
        yield slice(lo, lo + TRAJ_BATCH)


def _train_native(model, X, y, loss_name, opt):
    loss = nn._LOSSES[loss_name]()
    losses = []
    for sl in _batches(len(X)):
        losses.append(loss.forward(model.forward(X[sl]), y[sl]))
        model.backward(loss.backward())
        opt.step()
    return losses


@pytest.mark.parametrize("isa_name", simdmlp.available_isas())
@pytest.mark.parametrize("traj", TRAJECTORIES, ids=_traj_id)
def test_mlp_follows_the_reference_trajectory(traj, isa_name):
    act, act_params, loss_name, opt_cls, hyper = traj
    X, y, out = _traj_problem(loss_name)
    model = nn.MLP([6, 12, 10, out], activation=act, dtype=np.float64, rng=1)
    for layer in model.layers[:-1]:
        layer.act_params.update(act_params)
    params = [(layer.W.copy(), layer.b.copy()) for layer in model.layers]
    initial = [layer.W.copy() for layer in model.layers]
    with simdmlp.use_isa(isa_name):   # every ISA's GEMM and activation kernels
        losses = _train_native(model, X, y, loss_name, opt_cls(model.parameters(), **hyper))
    states, ref_losses = [], []
    for sl in _batches(len(X)):
        ref_losses.append(R.train_step(params, states, X[sl], y[sl], loss=loss_name,
                                       optimizer=opt_cls.__name__.lower(), hyper=hyper, activation=act,
                                       act_params=act_params))
    # the GEMMs sum in another order than NumPy's: rounding only (measured ~1e-15)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-12)
    for layer, (W, b) in zip(model.layers, params):
        np.testing.assert_allclose(layer.W, W, rtol=0, atol=1e-12)
        np.testing.assert_allclose(layer.b, b, rtol=0, atol=1e-12)
    assert min(np.max(np.abs(layer.W - W0)) for layer, W0 in zip(model.layers, initial)) > 1e-3  # it trained


@pytest.mark.parametrize("traj", TRAJECTORIES, ids=_traj_id)
def test_mlp_follows_the_torch_trajectory(traj):
    torch = pytest.importorskip("torch")
    act, act_params, loss_name, opt_cls, hyper = traj
    X, y, out = _traj_problem(loss_name)
    model = nn.MLP([6, 12, 10, out], activation=act, dtype=np.float64, rng=1)
    for layer in model.layers[:-1]:
        layer.act_params.update(act_params)
    linears = []
    for layer in model.layers:
        lin = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
        with torch.no_grad():   # torch keeps weight as (out, in): W^T
            lin.weight.copy_(torch.from_numpy(layer.W.T.copy()))
            lin.bias.copy_(torch.from_numpy(layer.b))
        linears.append(lin)
    t_act = {"relu": torch.nn.ReLU(), "tanh": torch.nn.Tanh(), "sigmoid": torch.nn.Sigmoid(),
             "silu": torch.nn.SiLU(), "softplus": torch.nn.Softplus(), "elu": torch.nn.ELU(),
             "gelu": torch.nn.GELU(approximate=act_params.get("approximate", "none"))}[act]
    t_model = torch.nn.Sequential(linears[0], t_act, linears[1], t_act, linears[2])
    t_opt = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW,
             "RMSprop": torch.optim.RMSprop, "AdaGrad": torch.optim.Adagrad}[opt_cls.__name__](
        t_model.parameters(), **hyper)
    t_loss = {"mse": torch.nn.MSELoss(), "cross_entropy": torch.nn.CrossEntropyLoss(),
              "bce_with_logits": torch.nn.BCEWithLogitsLoss()}[loss_name]
    losses = _train_native(model, X, y, loss_name, opt_cls(model.parameters(), **hyper))
    t_losses = []
    for sl in _batches(len(X)):
        t_opt.zero_grad()
        pred = t_model(torch.from_numpy(X[sl]))
        target = torch.from_numpy(y[sl])
        if loss_name == "bce_with_logits":
            target = target.reshape(pred.shape)
        value = t_loss(pred, target)
        value.backward()
        t_opt.step()
        t_losses.append(value.item())
    np.testing.assert_allclose(losses, t_losses, rtol=1e-12)
    for layer, lin in zip(model.layers, linears):
        np.testing.assert_allclose(layer.W, lin.weight.detach().numpy().T, rtol=0, atol=1e-12)
        np.testing.assert_allclose(layer.b, lin.bias.detach().numpy(), rtol=0, atol=1e-12)


# --- digits ---------------------------------------------------------------------------
def test_digits_accuracy():
    """scikit-learn's bundled 8x8 digits (no download): >= 97% test accuracy (~1 s)."""
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:1400], order[1400:]
    model = nn.MLP([64, 128, 64, 10], activation="relu", rng=0)
    hist = model.fit(X[train], y[train], epochs=30, batch_size=32, loss=nn.SoftmaxCrossEntropyLoss(),
                     optimizer=optim.Adam(model.parameters(), lr=1e-3), rng=0, verbose=False)
    assert hist["loss"][-1] < hist["loss"][0] / 10
    acc = model.evaluate(X[test], y[test])["accuracy"]
    assert acc >= 0.97, acc


# --- initialisation -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("init, draw", [
    ("he_normal", lambda g, i, o: g.standard_normal((i, o)) * math.sqrt(2 / i)),
    ("he_uniform", lambda g, i, o: g.uniform(-math.sqrt(6 / i), math.sqrt(6 / i), (i, o))),
    ("xavier_normal", lambda g, i, o: g.standard_normal((i, o)) * math.sqrt(2 / (i + o))),
    ("xavier_uniform", lambda g, i, o: g.uniform(-math.sqrt(6 / (i + o)), math.sqrt(6 / (i + o)), (i, o))),
    ("lecun_normal", lambda g, i, o: g.standard_normal((i, o)) * math.sqrt(1 / i)),
    ("normal", lambda g, i, o: g.standard_normal((i, o)) * 0.01),
    ("zeros", lambda g, i, o: np.zeros((i, o))),
])
def test_init_formulas(init, draw, dtype):
    d = nn.Dense(6, 4, init=init, rng=3, dtype=dtype)
    np.testing.assert_array_equal(d.W, draw(np.random.default_rng(3), 6, 4).astype(dtype))
    assert d.W.dtype == dtype and d.W.flags.c_contiguous
    np.testing.assert_array_equal(d.b, np.zeros(4, dtype))


@pytest.mark.parametrize("activation, formula", [
    ("relu", "he_normal"), ("gelu", "he_normal"), ("leaky_relu", "he_normal"), ("selu", "lecun_normal"),
    ("tanh", "xavier_normal"), ("sigmoid", "xavier_normal"), (None, "xavier_normal"),
])
def test_auto_init(activation, formula):
    a = nn.Dense(5, 3, activation, rng=7)
    b = nn.Dense(5, 3, activation, init=formula, rng=7)
    np.testing.assert_array_equal(a.W, b.W)


def test_mlp_draws_layers_from_one_generator():
    m = nn.MLP([4, 5, 3], rng=0)
    g = np.random.default_rng(0)
    np.testing.assert_array_equal(m.layers[0].W, (g.standard_normal((4, 5)) * math.sqrt(2 / 4)).astype(np.float32))
    np.testing.assert_array_equal(m.layers[1].W, (g.standard_normal((5, 3)) * math.sqrt(2 / 8)).astype(np.float32))
    m2 = nn.MLP([4, 5, 3], rng=np.random.default_rng(0))
    assert all(np.array_equal(a.W, b.W) for a, b in zip(m.layers, m2.layers))


# --- save / load ----------------------------------------------------------------------
def _trained_models():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, 40)
    mlp = nn.MLP([5, 8, 3], activation="gelu", rng=1)
    mlp.layers[0].act_params["approximate"] = "tanh"
    mlp64 = nn.MLP([5, 6, 4, 3], activation="leaky_relu", output="log_sigmoid", dtype=np.float64, rng=2,
                   bias=False)
    seq = nn.Sequential(
        nn.Sequential(nn.Dense(5, 4, "leaky_relu", negative_slope=np.float32(0.2), rng=3, init="he_uniform"),
                      nn.Activation("prelu", weight=np.array([0.1, 0.2, 0.3, 0.4], np.float32))),
        nn.Dense(4, 3, bias=False, rng=4), nn.Activation("softmax", axis=-1))
    for m in (mlp, mlp64, seq):
        m.fit(X.astype(m.dtype), R.one_hot(y, 3) if m is seq else y, epochs=2, batch_size=8, verbose=False, rng=0,
              loss=nn.MSELoss() if m is seq else None)
    return X, [mlp, mlp64, seq]


def _assert_same_model(a, b, X):
    assert type(a) is type(b)
    assert a.config() == b.config()
    assert json.dumps(a.config()) == json.dumps(b.config())
    pa, pb = a.parameters(), b.parameters()
    assert [(p.name, p.value.shape) for p in pa] == [(p.name, p.value.shape) for p in pb]
    for p, q in zip(pa, pb):
        assert p.value.dtype == q.value.dtype
        assert p.value.tobytes() == q.value.tobytes()
        assert p.value is not q.value
    Xd = X.astype(a.dtype)
    assert a.predict(Xd).tobytes() == b.predict(Xd).tobytes()


def test_save_load_round_trip(tmp_path):
    X, models = _trained_models()
    for i, model in enumerate(models):
        path = tmp_path / f"m{i}.npz"
        model.save(path)
        loaded = nn.load(path)
        _assert_same_model(model, loaded, X)
        if isinstance(model, nn.MLP):
            assert loaded.sizes == model.sizes and loaded.hidden_activation == model.hidden_activation
            assert loaded.output == model.output
    # the activation parameters came back with the values the kernels see
    loaded = nn.load(tmp_path / "m2.npz")
    assert loaded.layers[0].layers[0].act_params == {"negative_slope": float(np.float32(0.2))}
    assert loaded.layers[0].layers[1].params == {"weight": [float(np.float32(w)) for w in (0.1, 0.2, 0.3, 0.4)]}
    assert nn.load(tmp_path / "m0.npz").layers[0].act_params == {"approximate": "tanh"}
    assert loaded.layers[0].layers[0].init == "he_uniform"


def test_save_writes_exactly_the_given_path(tmp_path):
    X, (model, *_) = _trained_models()
    path = tmp_path / "model"                 # no .npz suffix
    model.save(str(path))
    assert path.exists() and not (tmp_path / "model.npz").exists()
    _assert_same_model(model, nn.load(str(path)), X)
    buf = io.BytesIO()
    model.save(buf)
    buf.seek(0)
    _assert_same_model(model, nn.load(buf), X)


def _rewrite(path, dst, config=None, **arrays):
    """Copy a saved model with some entries replaced (None: removed)."""
    with np.load(path, allow_pickle=False) as f:
        files = {k: f[k] for k in f.files}
    if config is not None:
        files["__config__"] = np.array(config if isinstance(config, str) else json.dumps(config))
    for k, v in arrays.items():
        if v is None:
            files.pop(k)
        else:
            files[k] = v
    np.savez(dst, **files)
    return dst


class _Payload:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def saved(tmp_path):
    model = nn.MLP([3, 4, 2], activation="tanh", rng=0)
    path = tmp_path / "good.npz"
    model.save(path)
    with np.load(path) as f:
        config = json.loads(str(f["__config__"]))
    return path, config


def _bad_files(tmp_path, path, config):
    data = path.read_bytes()
    marker = tmp_path / "pwned"
    cases = {}

    def put(name, content):
        p = tmp_path / name
        p.write_bytes(content)
        cases[name] = p

    put("truncated.npz", data[: len(data) // 2])
    put("truncated_end.npz", data[:-10])
    put("empty.npz", b"")
    put("garbage.npz", np.random.default_rng(0).bytes(300))
    put("raw_pickle.npz", pickle.dumps(_Payload(marker)))
    buf = io.BytesIO()
    np.save(buf, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    put("object.npy", buf.getvalue())
    cases["object_array_in_npz"] = _rewrite(path, tmp_path / "obj.npz",
                                            **{"layer0.W": np.array([_Payload(marker)], dtype=object)})
    cases["object_config"] = _rewrite(path, tmp_path / "objcfg.npz",
                                      __config__=np.array([_Payload(marker)], dtype=object))
    cases["malformed_json"] = _rewrite(path, tmp_path / "json.npz", config='{"format": "simdmlp.nn/1", "model": ')
    cases["deep_json"] = _rewrite(path, tmp_path / "deep.npz", config="[" * 100000 + "]" * 100000)
    cases["not_an_object"] = _rewrite(path, tmp_path / "list.npz", config="[1, 2]")
    cases["wrong_format"] = _rewrite(path, tmp_path / "fmt.npz", config={**config, "format": "keras/3"})
    cases["no_config"] = _rewrite(path, tmp_path / "nocfg.npz", __config__=None)
    cases["config_not_text"] = _rewrite(path, tmp_path / "cfgnum.npz", __config__=np.zeros(3))
    cases["wrong_shape"] = _rewrite(path, tmp_path / "shape.npz", **{"layer0.W": np.zeros((4, 3), np.float32)})
    cases["wrong_dtype"] = _rewrite(path, tmp_path / "dtype.npz", **{"layer0.W": np.zeros((3, 4), np.float64)})
    cases["missing_array"] = _rewrite(path, tmp_path / "missing.npz", **{"layer1.b": None})
    cases["extra_array"] = _rewrite(path, tmp_path / "extra.npz", **{"layer7.W": np.zeros(2)})

    def cfg(name, mutate):
        c = json.loads(json.dumps(config))
        mutate(c)
        cases[name] = _rewrite(path, tmp_path / f"{name}.npz", config=c)

    cfg("unknown_layer_type", lambda c: c["model"]["layers"][0].update(type="Conv2d"))
    cfg("unknown_model_type", lambda c: c["model"].update(type="Transformer"))
    cfg("unknown_activation", lambda c: c["model"]["layers"][0].update(activation="swishy"))
    cfg("bad_act_params", lambda c: c["model"]["layers"][0].update(act_params={"alpha": 2.0}))
    cfg("bad_act_param_value", lambda c: c["model"]["layers"][0].update(activation="gelu",
                                                                        act_params={"approximate": "exact"}))
    cfg("huge_sizes", lambda c: c["model"]["layers"][0].update(in_features=10**12))
    cfg("negative_size", lambda c: c["model"]["layers"][0].update(out_features=-4))
    cfg("bad_dtype", lambda c: c["model"]["layers"][0].update(dtype="object"))
    cfg("bias_not_bool", lambda c: c["model"]["layers"][0].update(bias="yes"))
    cfg("extra_key", lambda c: c["model"]["layers"][0].update(code="__import__('os')"))
    cfg("sizes_mismatch", lambda c: c["model"].update(sizes=[3, 5, 2]))
    cfg("layers_not_list", lambda c: c["model"].update(layers={"0": 1}))
    cfg("bad_activation_layer", lambda c: c["model"]["layers"].append({"type": "Activation", "name": "eval",
                                                                       "params": {}}))
    return cases, marker


def test_load_rejects_bad_files(tmp_path, saved):
    path, config = saved
    cases, marker = _bad_files(tmp_path, path, config)
    assert len(cases) >= 30
    for name, p in cases.items():
        with pytest.raises(ValueError, match="simdmlp.nn.load: .* is not a valid simdmlp model file"):
            nn.load(p)
    assert not marker.exists(), "loading a file ran code"
    assert nn.load(path).config() == json.loads(json.dumps(config))["model"]   # the original still loads


def test_load_messages_and_missing_file(tmp_path, saved):
    path, config = saved
    cases, _ = _bad_files(tmp_path, path, config)
    for name, pattern in [("wrong_shape", r"layer0\.W has shape \(4, 3\)"), ("unknown_layer_type", "Conv2d"),
                          ("malformed_json", "not JSON"), ("missing_array", r"missing array layer1\.b"),
                          ("extra_array", r"unexpected arrays \['layer7\.W'\]"), ("truncated.npz", "cannot read"),
                          ("raw_pickle.npz", "cannot read"), ("object_array_in_npz", "cannot read")]:
        with pytest.raises(ValueError, match=pattern):
            nn.load(cases[name])
    with pytest.raises(FileNotFoundError):
        nn.load(tmp_path / "nothing_here.npz")


def test_save_refuses_what_it_cannot_restore(tmp_path):
    class Custom(nn.Layer):
        def forward(self, x, training=True):
            return x

    with pytest.raises(NotImplementedError, match="Custom has no config"):
        nn.Sequential(nn.Dense(2, 2), Custom()).save(tmp_path / "x.npz")


# --- fit, predict, evaluate -----------------------------------------------------------
def _blobs(n=60, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = (rng.standard_normal((n, 4)) + 2 * np.eye(3, 4)[y]).astype(dtype)
    return X, y


def test_fit_history_and_validation():
    X, y = _blobs()
    Xv, yv = _blobs(20, seed=1)
    model = nn.MLP([4, 8, 3], rng=0)
    hist = model.fit(X, y, epochs=4, batch_size=16, optimizer=optim.Adam(model.parameters(), lr=1e-2),
                     validation_data=(Xv, yv), rng=0, verbose=False)
    assert set(hist) == {"loss", "val_loss", "val_accuracy"}
    assert all(len(v) == 4 for v in hist.values())
    assert hist["loss"][-1] < hist["loss"][0]
    ev = model.evaluate(Xv, yv)
    assert hist["val_loss"][-1] == ev["loss"] and hist["val_accuracy"][-1] == ev["accuracy"]
    hist = nn.MLP([4, 1], rng=0).fit(X, y.astype(np.float32), epochs=2, loss="mse", validation_data=(Xv, yv),
                                     verbose=False, rng=0)
    assert set(hist) == {"loss", "val_loss"}
    hist = nn.MLP([4, 1], rng=0).fit(X, (y == 1).astype(np.float32), epochs=2, loss="bce_with_logits",
                                     validation_data=(Xv, (yv == 1)), verbose=False, rng=0)
    assert set(hist) == {"loss", "val_loss", "val_accuracy"}
    assert nn.MLP([4, 3], rng=0).fit(X, y, epochs=0, verbose=False) == {"loss": []}


def _manual_epochs(model, X, y, orders, batch_size, lr):
    loss, opt = nn.SoftmaxCrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    means = []
    for order in orders:
        total = 0.0
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            total += loss.forward(model.forward(X[idx]), y[idx]) * len(idx)
            model.backward(loss.backward())
            opt.step()
        means.append(total / len(X))
    return means


@pytest.mark.parametrize("shuffle", [True, False])
def test_fit_is_the_documented_loop(shuffle):
    """fit = per epoch, batches of the permutation rng.permutation(n) (or 0..n-1), the last
    one smaller; "loss" the sample-weighted mean of the batch losses."""
    X, y = _blobs(50)
    a, b = nn.MLP([4, 6, 3], rng=0), nn.MLP([4, 6, 3], rng=0)
    hist = a.fit(X, y, epochs=3, batch_size=16, loss=nn.SoftmaxCrossEntropyLoss(),
                 optimizer=optim.SGD(a.parameters(), lr=0.05, momentum=0.9), shuffle=shuffle, rng=7,
                 verbose=False)
    g = np.random.default_rng(7)
    orders = [g.permutation(50) if shuffle else np.arange(50) for _ in range(3)]
    means = _manual_epochs(b, X, y, orders, 16, 0.05)
    assert hist["loss"] == means
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_fit_shuffle_is_deterministic_with_rng():
    X, y = _blobs()

    def run(rng):
        m = nn.MLP([4, 6, 3], rng=0)
        m.fit(X, y, epochs=2, batch_size=8, rng=rng, verbose=False)
        return np.concatenate([p.value.ravel() for p in m.parameters()])

    same = run(5)
    np.testing.assert_array_equal(same, run(5))
    np.testing.assert_array_equal(same, run(np.random.default_rng(5)))
    assert not np.array_equal(same, run(6))


def test_fit_verbose_lines(capsys):
    """Not a terminal (pytest's capture): one plain line per epoch, no carriage returns."""
    X, y = _blobs()
    model = nn.MLP([4, 6, 3], rng=0)
    hist = model.fit(X, y, epochs=3, batch_size=16, validation_data=_blobs(10, seed=2), rng=0, verbose=True)
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines):
        m = re.fullmatch(r"epoch (\d)/3 loss (\d+\.\d{4}) val_loss (\d+\.\d{4}) val_accuracy (\d\.\d{4}) "
                         r"\(\d+\.\d\d s\)", line)
        assert m, line
        assert int(m[1]) == epoch + 1
        assert m[2] == f"{hist['loss'][epoch]:.4f}" and m[4] == f"{hist['val_accuracy'][epoch]:.4f}"
    model.fit(X, y, epochs=2, verbose=False)
    assert capsys.readouterr().out == ""


def test_fit_progress_bar_on_a_terminal(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    monkeypatch.setattr(sys, "stdout", out)
    X, y = _blobs()
    nn.MLP([4, 3], rng=0).fit(X, y, epochs=2, batch_size=8, rng=0)
    text = out.getvalue()
    assert text.count("\repoch 1/2 [") >= 1 and "=" * 30 in text
    assert re.search(r"\repoch 2/2 loss \d+\.\d{4} \(\d+\.\d\d s\) +\n$", text)


def test_predict_and_evaluate():
    X, y = _blobs(70)
    model = nn.MLP([4, 6, 3], rng=0)
    model.fit(X, y, epochs=3, verbose=False, rng=0)
    pred = model.predict(X)
    assert pred.shape == (70, 3) and pred.dtype == np.float32
    np.testing.assert_array_equal(pred, model.forward(X, training=False))
    np.testing.assert_array_equal(pred, model.predict(X, batch_size=9))   # rows are independent
    np.testing.assert_array_equal(model.predict(X.astype(np.int64)), model.predict(X.astype(np.int64).astype(
        np.float32)))
    assert model.predict(X[:0]).shape == (0, 3)
    ev = model.evaluate(X, y)
    assert set(ev) == {"loss", "accuracy"}
    assert ev["accuracy"] == np.mean(np.argmax(pred, axis=1) == y)
    assert ev["loss"] == nn.SoftmaxCrossEntropyLoss().forward(pred, y)
    assert model.evaluate(X, R.one_hot(y, 3)) == ev
    # binary: accuracy of (logit > 0) against (target > 0.5); regression: the loss only
    yb = (y == 1).astype(np.float32)
    ev = model.evaluate(X, np.stack([yb] * 3, axis=1), loss="bce_with_logits")
    assert ev["accuracy"] == np.mean((pred > 0) == (yb[:, None] > 0.5))
    assert set(model.evaluate(X, pred, loss=nn.MSELoss())) == {"loss"}
    assert model.evaluate(X, pred, loss="mse")["loss"] == 0.0


# --- bad input ------------------------------------------------------------------------
def test_bad_input_to_fit_predict_evaluate():
    X, y = _blobs()
    model = nn.MLP([4, 6, 3], rng=0)
    cases = [
        (lambda: model.fit(X[:, :3], y, verbose=False), ValueError, "fit: X has 3 features but the model expects 4"),
        (lambda: model.predict(X[:, :3]), ValueError, "predict: X has 3 features but the model expects 4"),
        (lambda: model.evaluate(X[:, :3], y), ValueError, "evaluate: X has 3 features"),
        (lambda: model.predict(X[0]), ValueError, r"predict: X must be 2-d"),
        (lambda: model.fit(X, np.where(y == 2, 3, y), verbose=False), ValueError,
         r"fit: labels must be in \[0, 2\], got \[0, 3\]"),
        (lambda: model.fit(X, y - 1, verbose=False), ValueError, r"fit: labels must be in \[0, 2\]"),
        (lambda: model.evaluate(X, y + 1), ValueError, r"labels must be in \[0, 2\]"),
        (lambda: model.fit(X, y + 0.5, verbose=False), TypeError, "fit: cross-entropy labels must be integers"),
        (lambda: model.fit(np.where(X > 1, np.nan, X).astype(np.float32), y, verbose=False), ValueError,
         "fit: X contains NaN"),
        (lambda: model.predict(np.full((2, 4), np.inf, np.float32)), ValueError, "predict: X contains NaN or inf"),
        (lambda: model.fit(X, np.where(y == 1, np.nan, y), verbose=False), ValueError, "fit: y contains NaN"),
        (lambda: model.fit(X, y[:-1], verbose=False), ValueError, "fit: X has 60 samples but y has 59"),
        (lambda: model.fit(X.astype(np.float64), y, verbose=False), TypeError,
         "fit: X has dtype float64 but the model's parameters are float32"),
        (lambda: model.predict(X.astype(np.float16)), TypeError, "predict: X has dtype float16"),
        (lambda: model.predict(X.astype(complex)), TypeError, "predict: X has dtype complex128"),
        (lambda: model.fit(X, y.astype(str), verbose=False), TypeError, "fit: y has dtype <U"),
        (lambda: model.fit(X[:0], y[:0], verbose=False), ValueError, "fit: X has no samples"),
        (lambda: model.fit(X, y, epochs=-1), ValueError, "fit: epochs must be an int >= 0"),
        (lambda: model.fit(X, y, epochs=2.5), ValueError, "fit: epochs must be an int >= 0"),
        (lambda: model.fit(X, y, batch_size=0), ValueError, "fit: batch_size must be an int >= 1"),
        (lambda: model.predict(X, batch_size=True), ValueError, "predict: batch_size must be an int >= 1"),
        (lambda: model.fit(X, y, validation_data=(X,)), TypeError, r"fit: validation_data must be a pair"),
        (lambda: model.fit(X, y, validation_data=(X[:, :2], y), verbose=False), ValueError,
         r"fit \(validation_data\): X has 2 features"),
        (lambda: model.fit(X, y, loss="hinge"), ValueError, "fit: unknown loss 'hinge'"),
        (lambda: model.fit(X, y, loss=42), TypeError, "fit: loss must be a loss object"),
        (lambda: model.fit(X, y, optimizer=optim.SGD(nn.MLP([4, 3]).parameters()), verbose=False), ValueError,
         "fit: the optimizer holds none of this model's parameters"),
        (lambda: model.fit(X, y, optimizer="adam"), TypeError, "fit: optimizer must have a step"),
        (lambda: model.fit(X, y, rng="seed", verbose=False), TypeError, "rng must be an int, None or"),
    ]
    before = [p.value.copy() for p in model.parameters()]
    for fn, exc, match in cases:
        with pytest.raises(exc, match=match):
            fn()
    for p, b in zip(model.parameters(), before):   # nothing trained on bad input
        np.testing.assert_array_equal(p.value, b)


def test_bad_layer_arguments():
    cases = [
        (lambda: nn.Dense(4, 3, init="glorot"), ValueError, "Dense: init must be 'auto' or one of he_normal"),
        (lambda: nn.Dense(4, 3, "swishy"), ValueError, "Dense: activation must be None or one of"),
        (lambda: nn.Dense(4, 3, "softmax"), ValueError, "Dense: activation must be None or one of"),
        (lambda: nn.Dense(4, 3, "relu", alpha=1.0), TypeError, r"Dense: activation 'relu' takes parameters none"),
        (lambda: nn.Dense(4, 3, negative_slope=0.1), TypeError, "Dense: activation parameters"),
        (lambda: nn.Dense(4, 3, "gelu", approximate="exact"), ValueError, "Dense: bad parameters for gelu"),
        (lambda: nn.Dense(4, 3, "gelu", approximate=1), TypeError, "Dense: gelu parameter approximate must be a str"),
        (lambda: nn.Dense(4, 3, "elu", alpha="1"), ValueError, "Dense: elu parameter alpha must be a finite number"),
        (lambda: nn.Dense(4, 3, "elu", alpha=float("nan")), ValueError, "Dense: elu parameter alpha"),
        (lambda: nn.Dense(0, 3), ValueError, "Dense: in_features must be a positive int"),
        (lambda: nn.Dense(4, 2.0), ValueError, "Dense: out_features must be a positive int"),
        (lambda: nn.Dense(4, 3, dtype=np.int32), TypeError, "Dense: dtype must be float32 or float64, got int32"),
        (lambda: nn.Dense(4, 3, dtype=np.float16), TypeError, "Dense: dtype must be float32 or float64"),
        (lambda: nn.Dense(4, 3, dtype="bogus"), TypeError, "Dense: dtype must be float32 or float64"),
        (lambda: nn.Dense(4, 3, bias="no"), TypeError, "Dense: bias must be True or False"),
        (lambda: nn.Dense(4, 3, rng=1.5), TypeError, "rng must be an int, None or a numpy.random.Generator"),
        (lambda: nn.Activation("swishy"), ValueError, "Activation: unknown activation 'swishy'"),
        (lambda: nn.Activation("tanh", beta=2.0), TypeError, r"Activation: activation 'tanh' takes parameters none"),
        (lambda: nn.Activation("softmax", axis=1.5), TypeError, "Activation: softmax parameter axis must be an int"),
        (lambda: nn.Activation("prelu", weight=[[0.1]]), ValueError, "Activation: prelu parameter weight"),
        (lambda: nn.Activation("prelu", weight=[]), ValueError, "Activation: prelu weight must be"),
        (lambda: nn.MLP([4]), ValueError, "MLP: sizes must list at least two positive ints"),
        (lambda: nn.MLP([4, 0, 3]), ValueError, "MLP: sizes must list"),
        (lambda: nn.MLP([4, 3], activation="swishy", output="swishy"), ValueError, "Dense: activation must be"),
        (lambda: nn.MLP([4, 5, 3], init="kaiming"), ValueError, "Dense: init must be"),
        (lambda: nn.Sequential(nn.Dense(2, 2), "relu"), TypeError, "Sequential: expected layers, got str"),
        (lambda: nn.Sequential(nn.Dense(2, 2), nn.Dense(2, 2, dtype=np.float64)), TypeError,
         "Sequential: the layers mix dtypes float32, float64"),
    ]
    for fn, exc, match in cases:
        with pytest.raises(exc, match=match):
            fn()


def test_bad_layer_calls():
    d = nn.Dense(4, 3, "tanh")
    with pytest.raises(RuntimeError, match=r"Dense.backward: call forward\(x, training=True\) first"):
        d.backward(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"Dense.forward: x has shape \(2, 5\), expected \(batch, 4\)"):
        d.forward(np.ones((2, 5), np.float32))
    with pytest.raises(TypeError, match="Dense.forward: x has dtype float64 but the layer's weights are float32"):
        d.forward(np.ones((2, 4)))
    d.forward(np.ones((2, 4), np.float32))
    with pytest.raises(TypeError, match="dense_backward: grad_y has dtype float64"):
        d.backward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dense_backward: grad_y has shape \(2, 4\)"):
        d.backward(np.ones((2, 4), np.float32))
    with pytest.raises(RuntimeError, match="Activation.backward: call forward"):
        nn.Activation("relu").backward(np.ones(3))


# --- train_step: fit's step, with reused buffers ----------------------------------------
def _twin_models(activation, dtype, seed=0):
    a = nn.MLP([20, 16, 12, 5], activation=activation, dtype=dtype, rng=seed)
    b = nn.MLP([20, 16, 12, 5], activation=activation, dtype=dtype, rng=seed)
    return a, b


@pytest.mark.parametrize("loss_name", ["cross_entropy", "mse", "bce_with_logits"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_train_step_is_forward_loss_backward_step(loss_name, dtype):
    """train_step (reused buffers, no grad for X) follows the plain forward / loss /
    backward / step sequence bit for bit, over batches of two sizes."""
    rng = np.random.default_rng(11)
    a, b = _twin_models("gelu", dtype)
    la, lb = nn._LOSSES[loss_name](), nn._LOSSES[loss_name]()
    oa, ob = optim.Adam(a.parameters(), lr=1e-2), optim.Adam(b.parameters(), lr=1e-2)
    for n in (8, 8, 3, 8, 3):
        X = rng.standard_normal((n, 20)).astype(dtype)
        y = {"cross_entropy": rng.integers(0, 5, n), "mse": rng.standard_normal((n, 5)).astype(dtype),
             "bce_with_logits": rng.integers(0, 2, (n, 5)).astype(dtype)}[loss_name]
        va = a.train_step(X, y, la, oa)
        out = b.forward(X, training=True)
        vb = lb.forward(out, y)
        b.backward(lb.backward())
        ob.step()
        assert va == vb
        for pa, pb in zip(a.parameters(), b.parameters()):
            np.testing.assert_array_equal(pa.value, pb.value)
            np.testing.assert_array_equal(pa.grad, pb.grad)


def test_train_step_allocates_nothing_after_the_first_step():
    """After one step at a batch size, a step allocates no array of the batch's size:
    tracemalloc's peak during a step stays below the smallest such array (the logits,
    batch x 10 float32), while a plain forward alone allocates far more."""
    import tracemalloc

    rng = np.random.default_rng(12)
    model = nn.MLP([784, 128, 64, 10], activation="relu", rng=0)
    loss, opt = nn.SoftmaxCrossEntropyLoss(), optim.Adam(model.parameters())
    X = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    model.train_step(X, y, loss, opt)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        model.train_step(X, y, loss, opt)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        model.forward(X, training=True)
        _, peak_plain = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - base < 128 * 10 * 4, f"a training step allocated {peak - base} bytes"
    assert peak_plain - base > 128 * (128 + 64) * 4


def test_train_step_skips_the_input_gradient(monkeypatch):
    """The first layer's grad_x (a third of the backward FLOPs in a 784-wide layer) is
    not computed: dense_backward is asked for it only by the later layers."""
    from simdmlp import _core

    calls = []
    real = _core.dense_backward

    def spy(*args, **kw):
        calls.append(kw.get("need_grad_x", True))
        return real(*args, **kw)

    monkeypatch.setattr(_core, "dense_backward", spy)
    model = nn.MLP([6, 5, 4, 3], rng=0)
    X = np.ones((4, 6), np.float32)
    model.train_step(X, np.array([0, 1, 2, 0]), nn.SoftmaxCrossEntropyLoss(), optim.SGD(model.parameters()))
    assert calls == [True, True, False]
