"""simdmlp.optim against simdmlp.reference's torch.optim rules, step by step.

The native steps are built with -ffp-contract=off and follow torch.optim's single-tensor
update order operation by operation, as the reference does in NumPy, so the two agree bit
for bit, torch's rounding details included (lerp's two formulas, ** 0.5 in Adam's bias
correction). (PyTorch itself is compared in test_nn.py, on a trained MLP.)
"""
from __future__ import annotations

import numpy as np
import pytest

from simdmlp import nn, optim
from simdmlp import reference as R

DTYPES = (np.float32, np.float64)
STEPS = 6

#: (class, reference step, hyper-parameters): every option and the combinations that
#: interact (nesterov with weight decay, centered with momentum, ...).
CASES = [
    (optim.SGD, R.sgd_step, {}),
    (optim.SGD, R.sgd_step, dict(lr=0.1)),
    (optim.SGD, R.sgd_step, dict(lr=0.1, weight_decay=0.05)),
    (optim.SGD, R.sgd_step, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, R.sgd_step, dict(lr=0.1, momentum=0.9, dampening=0.3)),
    (optim.SGD, R.sgd_step, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    (optim.SGD, R.sgd_step, dict(lr=0.1, momentum=0.8, nesterov=True)),
    (optim.SGD, R.sgd_step, dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.01)),
    (optim.Adam, R.adam_step, {}),
    (optim.Adam, R.adam_step, dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6)),
    (optim.Adam, R.adam_step, dict(lr=0.01, weight_decay=0.1)),
    (optim.Adam, R.adam_step, dict(lr=0.01, betas=(0.6, 0.99), eps=0.0, weight_decay=0.5)),
    (optim.AdamW, R.adamw_step, {}),
    (optim.AdamW, R.adamw_step, dict(lr=0.01, weight_decay=0.5)),
    (optim.AdamW, R.adamw_step, dict(lr=0.01, betas=(0.7, 0.95), eps=1e-4, weight_decay=0.0)),
    (optim.RMSprop, R.rmsprop_step, {}),
    (optim.RMSprop, R.rmsprop_step, dict(alpha=0.9, eps=1e-4)),
    (optim.RMSprop, R.rmsprop_step, dict(weight_decay=0.1)),
    (optim.RMSprop, R.rmsprop_step, dict(momentum=0.9)),
    (optim.RMSprop, R.rmsprop_step, dict(centered=True)),
    (optim.RMSprop, R.rmsprop_step, dict(centered=True, momentum=0.5, weight_decay=0.1)),
    (optim.AdaGrad, R.adagrad_step, {}),
    (optim.AdaGrad, R.adagrad_step, dict(lr=0.1, lr_decay=0.1)),
    (optim.AdaGrad, R.adagrad_step, dict(weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-3)),
]


def _case_id(case):
    cls, _, kw = case
    return cls.__name__ + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")"


def _model(dtype, bias=True):
    """Two Dense layers: four parameter arrays of different shapes."""
    return nn.Sequential(nn.Dense(7, 5, "tanh", dtype=dtype, rng=1, bias=bias),
                         nn.Dense(5, 3, dtype=dtype, rng=2, bias=bias))


def _run(cls, step, kw, dtype, steps=STEPS, grad_scale=1.0, seed=0):
    """Run the native optimizer and the reference side by side on the same gradients;
    return (native arrays, reference arrays, native states, reference states, the
    optimizer, the ids of the parameter arrays before the first step)."""
    model = _model(dtype)
    params = model.parameters()
    ids = [id(p.value) for p in params]
    opt = cls(params, **kw)
    ref = [p.value.copy() for p in params]
    ref_states = [{} for _ in params]
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        for p, r, st in zip(params, ref, ref_states):
            p.grad[...] = (rng.standard_normal(p.grad.shape) * grad_scale).astype(dtype)
            step(r, p.grad.copy(), st, **kw)
        opt.step()
    return [p.value for p in params], ref, opt.state, ref_states, opt, ids


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_step_matches_reference_bitwise(case, dtype):
    cls, step, kw = case
    got, want, states, ref_states, opt, ids = _run(cls, step, kw, dtype)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_array_equal(g, w)
    for st, rst in zip(states, ref_states):  # the optimizer state too (exp_avg, sum, ...)
        for key, value in rst.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(st[key], value, err_msg=key)
            else:
                assert st[key] == value, key
    assert opt.steps == STEPS


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_step_updates_in_place(case):
    """The parameter arrays and the state arrays are the same objects after every step
    (a model holding references to its weights sees the updates)."""
    cls, _, kw = case
    model = _model(np.float32)
    params = model.parameters()
    before = [p.value for p in params]
    opt = cls(params, **kw)
    for p in params:
        p.grad[...] = 0.5
    copies = [v.copy() for v in before]
    opt.step()
    state_ids = [{k: id(v) for k, v in st.items() if isinstance(v, np.ndarray)} for st in opt.state]
    opt.step()
    for p, b, c in zip(params, before, copies):
        assert p.value is b
        assert not np.array_equal(b, c), "the parameter did not move"
    assert [{k: id(v) for k, v in st.items() if isinstance(v, np.ndarray)} for st in opt.state] == state_ids


def test_step_does_not_touch_gradients():
    model = _model(np.float64)
    opt = optim.Adam(model.parameters(), weight_decay=0.1)
    for p in model.parameters():
        p.grad[...] = np.linspace(-1, 1, p.grad.size).reshape(p.grad.shape)
    grads = [p.grad.copy() for p in model.parameters()]
    opt.step()
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)


def test_layer_without_bias():
    """A Dense layer without bias has one parameter; the optimizers skip nothing else."""
    model = _model(np.float64, bias=False)
    assert [p.name for p in model.parameters()] == ["W", "W"]
    opt = optim.SGD(model.parameters(), lr=0.5)
    for p in model.parameters():
        p.grad[...] = 1.0
    w = [p.value.copy() for p in model.parameters()]
    opt.step()
    for p, w0 in zip(model.parameters(), w):
        np.testing.assert_array_equal(p.value, w0 - 0.5)


# --- exact values, by hand (independent of the reference) ------------------------------
def _one(dtype=np.float64, w=1.0, g=0.5):
    d = nn.Dense(1, 1, bias=False, dtype=dtype, init="zeros")
    d.W[...] = w
    d.dW[...] = g
    return d


def test_sgd_by_hand():
    d = _one()
    opt = optim.SGD(d.parameters(), lr=0.25, momentum=0.5)
    opt.step()                      # buf = g = 0.5; p = 1 - 0.25 * 0.5
    assert d.W[0, 0] == 0.875
    d.dW[...] = 1.0
    opt.step()                      # buf = 0.5 * 0.5 + 1 = 1.25; p = 0.875 - 0.3125
    assert d.W[0, 0] == 0.5625
    assert opt.state[0]["momentum_buffer"][0, 0] == 1.25


def test_sgd_nesterov_and_dampening_by_hand():
    d = _one()
    opt = optim.SGD(d.parameters(), lr=0.5, momentum=0.5, nesterov=True)
    opt.step()                      # buf = 0.5; d = 0.5 + 0.5 * 0.5 = 0.75; p = 1 - 0.375
    assert d.W[0, 0] == 0.625
    d = _one()
    opt = optim.SGD(d.parameters(), lr=1.0, momentum=0.5, dampening=0.5)
    opt.step()                      # first step: buf = g, no dampening (as torch)
    assert d.W[0, 0] == 0.5
    opt.step()                      # buf = 0.5 * 0.5 + 0.5 * 0.5 = 0.5
    assert d.W[0, 0] == 0.0


@pytest.mark.parametrize("g", [0.5, -3.0, 1e-3])
def test_adam_first_step_is_lr_times_sign(g):
    """m_hat = g and v_hat = g^2 after one step: p -= lr * g / (|g| + eps)."""
    d = _one(g=g)
    optim.Adam(d.parameters(), lr=0.1).step()
    np.testing.assert_allclose(d.W[0, 0], 1.0 - 0.1 * g / (abs(g) + 1e-8), rtol=1e-15)


def test_adamw_decays_before_the_update():
    d = _one(g=0.5)
    optim.AdamW(d.parameters(), lr=0.1, weight_decay=0.5).step()   # p = 1 * (1 - 0.05) - 0.1
    np.testing.assert_allclose(d.W[0, 0], 0.95 - 0.1 * 0.5 / (0.5 + 1e-8), rtol=1e-15)
    d = _one(g=0.5)
    optim.Adam(d.parameters(), lr=0.1, weight_decay=0.5).step()    # g' = 0.5 + 0.5 * 1
    np.testing.assert_allclose(d.W[0, 0], 1.0 - 0.1 * 1.0 / (1.0 + 1e-8), rtol=1e-15)


def test_rmsprop_and_adagrad_first_step_by_hand():
    d = _one(g=0.5)
    optim.RMSprop(d.parameters(), lr=0.01, alpha=0.75).step()      # s = 0.25 * 0.25
    np.testing.assert_allclose(d.W[0, 0], 1.0 - 0.01 * 0.5 / (0.25 + 1e-8), rtol=1e-15)
    d = _one(g=0.5)
    optim.RMSprop(d.parameters(), lr=0.01, alpha=0.75, centered=True).step()
    # ga = 0.125, s - ga^2 = 0.0625 - 0.015625 = 0.046875
    np.testing.assert_allclose(d.W[0, 0], 1.0 - 0.01 * 0.5 / (np.sqrt(0.046875) + 1e-8), rtol=1e-15)
    d = _one(g=0.5)
    opt = optim.AdaGrad(d.parameters(), lr=0.1, lr_decay=1.0, initial_accumulator_value=0.75)
    opt.step()                                                     # sum = 0.75 + 0.25 = 1
    np.testing.assert_allclose(d.W[0, 0], 1.0 - 0.1 * 0.5 / (1.0 + 1e-10), rtol=1e-15)
    opt.step()                                                     # clr = 0.1 / 2, sum = 1.25
    np.testing.assert_allclose(d.W[0, 0], 1.0 - 0.05 / (1 + 1e-10) - 0.05 * 0.5 / (np.sqrt(1.25) + 1e-10),
                               rtol=1e-15)


def test_defaults_are_torchs():
    """torch.optim's defaults (docs of torch 2.x), written out so this runs without torch."""
    d = _one()
    assert optim.SGD(d.parameters()).hyper == dict(lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False,
                                                   weight_decay=0.0)
    assert optim.Adam(d.parameters()).hyper == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    assert optim.AdamW(d.parameters()).hyper == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
    assert optim.RMSprop(d.parameters()).hyper == dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                                                       momentum=0.0, centered=False)
    assert optim.AdaGrad(d.parameters()).hyper == dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                                                       initial_accumulator_value=0.0, eps=1e-10)
    assert optim.Adagrad is optim.AdaGrad


def test_zero_grad():
    model = _model(np.float32)
    opt = optim.SGD(model.parameters())
    for p in model.parameters():
        p.grad[...] = 3.0
    opt.zero_grad()
    assert all(not p.grad.any() for p in model.parameters())


# --- torch's rounding details ----------------------------------------------------------
# torch.lerp(m, g, w) switches to g - (g - m)(1 - w) for w >= 0.5 (beta1 <= 0.5 in Adam,
# alpha <= 0.5 in centered RMSprop); Adam's bias correction takes (1 - beta2^t) ** 0.5,
# C pow, which is an ulp away from sqrt at some steps (t = 1270 with beta2 = 0.999).
LERP_CASES = [
    (optim.Adam, R.adam_step, dict(lr=0.01, betas=(0.3, 0.5))),
    (optim.AdamW, R.adamw_step, dict(lr=0.01, betas=(0.5, 0.9))),
    (optim.RMSprop, R.rmsprop_step, dict(alpha=0.3, centered=True)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", LERP_CASES, ids=_case_id)
def test_lerp_weight_at_least_half_bitwise(case, dtype):
    cls, step, kw = case
    got, want, *_ = _run(cls, step, kw, dtype)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def _adam_from_step(t0, dtype=np.float64):
    """Adam at step t0 + 1 from a given state, native and reference."""
    d = nn.Dense(40, 30, dtype=dtype, rng=3, bias=False)
    rng = np.random.default_rng(4)
    opt = optim.Adam(d.parameters())
    m = (rng.standard_normal(d.W.shape) * 0.1).astype(dtype)
    v = (rng.random(d.W.shape) * 0.01).astype(dtype)
    opt.state[0].update(step=t0, exp_avg=m.copy(), exp_avg_sq=v.copy())
    ref_state = dict(step=t0, exp_avg=m.copy(), exp_avg_sq=v.copy())
    ref = d.W.copy()
    d.dW[...] = rng.standard_normal(d.W.shape)
    R.adam_step(ref, d.dW.copy(), ref_state)
    opt.step()
    return d.W, ref


def test_adam_late_step_bitwise():
    got, want = _adam_from_step(1269)
    np.testing.assert_array_equal(got, want)


# --- bad arguments -----------------------------------------------------------------------
BAD = [
    (optim.SGD, dict(lr=-0.1), ValueError, "SGD: lr"),
    (optim.SGD, dict(lr=float("nan")), ValueError, "SGD: lr"),
    (optim.SGD, dict(lr=float("inf")), ValueError, "SGD: lr"),
    (optim.SGD, dict(lr="0.1"), TypeError, "SGD: lr"),
    (optim.SGD, dict(lr=None), TypeError, "SGD: lr"),
    (optim.SGD, dict(lr=True), TypeError, "SGD: lr"),
    (optim.SGD, dict(momentum=-0.9), ValueError, "SGD: momentum"),
    (optim.SGD, dict(weight_decay=-1e-4), ValueError, "SGD: weight_decay"),
    (optim.SGD, dict(nesterov=True), ValueError, "SGD: nesterov"),
    (optim.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), ValueError, "SGD: nesterov"),
    (optim.SGD, dict(nesterov="yes", momentum=0.9), TypeError, "SGD: nesterov"),
    (optim.Adam, dict(lr=-1e-3), ValueError, "Adam: lr"),
    (optim.Adam, dict(betas=(0.9, 1.0)), ValueError, "Adam: betas"),
    (optim.Adam, dict(betas=(1.0, 0.999)), ValueError, "Adam: betas"),
    (optim.Adam, dict(betas=(-0.1, 0.999)), ValueError, "Adam: betas"),
    (optim.Adam, dict(betas=(0.9, float("nan"))), ValueError, "Adam: betas"),
    (optim.Adam, dict(betas=0.9), TypeError, "Adam: betas"),
    (optim.Adam, dict(betas=(0.9, 0.99, 0.999)), TypeError, "Adam: betas"),
    (optim.Adam, dict(eps=-1e-8), ValueError, "Adam: eps"),
    (optim.AdamW, dict(weight_decay=-0.01), ValueError, "AdamW: weight_decay"),
    (optim.AdamW, dict(betas=(0.9, 1.5)), ValueError, "AdamW: betas"),
    (optim.RMSprop, dict(alpha=1.5), ValueError, "RMSprop: alpha"),
    (optim.RMSprop, dict(alpha=-0.5), ValueError, "RMSprop: alpha"),
    (optim.RMSprop, dict(momentum=-1.0), ValueError, "RMSprop: momentum"),
    (optim.RMSprop, dict(centered=1), TypeError, "RMSprop: centered"),
    (optim.AdaGrad, dict(lr_decay=-0.1), ValueError, "AdaGrad: lr_decay"),
    (optim.AdaGrad, dict(initial_accumulator_value=-1.0), ValueError, "AdaGrad: initial_accumulator_value"),
    (optim.AdaGrad, dict(eps=float("nan")), ValueError, "AdaGrad: eps"),
]


@pytest.mark.parametrize("cls, kw, exc, match", BAD, ids=[f"{c.__name__}-{kw}" for c, kw, _, _ in BAD])
def test_bad_hyper_parameters(cls, kw, exc, match):
    with pytest.raises(exc, match=match):
        cls(_model(np.float32).parameters(), **kw)


def test_bad_parameter_lists():
    model = _model(np.float32)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match="Adam: params must be model.parameters"):
        optim.Adam(model.layers[0].W)
    with pytest.raises(TypeError, match=r"Adam: parameters must have \.value and \.grad"):
        optim.Adam([model.layers[0].W])
    with pytest.raises(ValueError, match="SGD: a parameter appears more than once"):
        optim.SGD(model.parameters() + model.layers[0].parameters())


def test_step_refuses_a_gradient_of_another_dtype():
    d = nn.Dense(3, 2, dtype=np.float32)
    opt = optim.Adam(d.parameters())
    d.dW = np.zeros((3, 2), np.float64)  # a user swapped the gradient array
    with pytest.raises(TypeError, match="Adam.step: grad has dtype float64"):
        opt.step()
