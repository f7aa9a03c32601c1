"""Special values per op, per ISA, per dtype: +-0, +-inf, NaN, subnormals, the largest
finite values, kink points and the break points of the exp-based kernels.

Exact ops are compared with Python rules (FACTS[name].exact_forward / exact_derivative,
independent of simdmlp.reference) value for value and sign for sign; backward as the one
IEEE multiply dy * f'(x). Inexact ops: the conventions of SPEC.md exactly (FACTS[name].limits:
sigmoid(-inf) = 0, sigmoid(inf) = 1, tanh(+-inf) = +-1, tanh(-0) = -0), NaN -> NaN, and
everything else within the SPEC bounds of the correctly rounded value (mpmath oracle).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import simdmlp
from conftest import (
    ELEMENTWISE_NAMES,
    FLOAT_DTYPES,
    assert_backward_bound,
    assert_exact,
    assert_forward_ulp,
    assert_same_bits,
    backward_fn,
    facts,
    forward_fn,
    mp_backward,
    mp_forward,
    reference_fns,
    require_facts,
)

NAMES = ELEMENTWISE_NAMES
DTYPE_IDS = [np.dtype(d).name for d in FLOAT_DTYPES]


def special_inputs(dtype) -> np.ndarray:
    fi = np.finfo(dtype)
    sub, norm, big = float(fi.smallest_subnormal), float(fi.smallest_normal), float(fi.max)
    one = np.asarray(1.0, dtype)
    vals = [
        0.0, -0.0, math.inf, -math.inf, math.nan,
        sub, -sub, 2 * sub, -3 * sub, norm - sub, -(norm - sub),   # subnormals
        norm, -norm, big, -big,                                    # extreme normals
        float(np.nextafter(np.asarray(big, dtype), 0)),
        1.0, -1.0, float(np.nextafter(one, 2)), float(np.nextafter(one, 0)), 0.5, -0.5, 2.0, -2.0,
        1e-30, -1e-30, 2.0**-12, -(2.0**-12),
        # break points of exp/expm1 range reduction and clamps (ln2/2, tanh's clamp at 20,
        # float32/float64 saturation and exp underflow thresholds)
        math.log(2) / 2, -math.log(2) / 2, math.log(2), -math.log(2),
        8.0, -8.0, 9.01, -9.01, 16.7, -16.7, 19.1, -19.1, 20.0, -20.0, 21.0, -21.0,
        30.0, -30.0, 36.8, -36.8, 40.0, -40.0, 44.0, -44.0, 60.0, -60.0,
        -87.3, -88.8, -100.0, -103.9, -104.0, -110.0, -111.0, 88.8, 100.0, 110.0, 1e4, -1e4,
    ]
    if np.dtype(dtype) == np.float64:
        vals += [-708.4, -709.8, -740.0, -745.1, -746.0, -760.0, -761.0, 709.8, 760.0, 1e300, -1e300]
    with np.errstate(over="ignore"):
        arr = np.array(vals, dtype=np.float64).astype(dtype)
    return np.concatenate([arr, np.nextafter(arr[np.isfinite(arr) & (np.abs(arr) > 1e-3)], 0)])


GRADS = (1.0, -1.0, 0.0, -0.0, 2.5, -3.0, 1e-30, -(2.0**-140), 1e30)


def _expected_exact_forward(name, x):
    f = facts(name)
    return np.array([f.exact_forward(v) for v in x.tolist()], dtype=np.float64).astype(x.dtype)


def _expected_exact_backward(name, dy, x):
    """dy * f'(x) as one IEEE multiply in x's dtype (f'(NaN) = NaN)."""
    f = facts(name)
    if f.backward_is_grad_output:
        return dy.copy()
    d = np.array([f.exact_derivative(v) for v in x.tolist()], dtype=np.float64).astype(x.dtype)
    with np.errstate(invalid="ignore"):
        return dy * d


def _placements(x):
    """x as one vector, each element alone, and x tiled with a shift so every special value
    also lands in other SIMD lanes and in a masked tail."""
    yield "vector", x
    yield "shifted", np.concatenate([np.full(3, 0.25, x.dtype), x, x, x[:5]])


# ----------------------------------------------------------------------------- forward
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_special_forward(name, dtype, isa):
    f = facts(name)
    fwd = forward_fn(name)
    base = special_inputs(dtype)
    for placement, x in _placements(base):
        y = fwd(x)
        what = f"{name} {isa} {placement}"
        if f.exact:
            assert_exact(y, _expected_exact_forward(name, x), what=what)
        else:
            assert_forward_ulp(y, mp_forward(name, x), dtype, x, what=what)
            nan = np.isnan(x)
            assert np.isnan(y[nan]).all() and not np.isnan(y[~nan]).any(), f"{what}: NaN in -> NaN out only"
    # each value alone (length-1 arrays take the pure tail path)
    alone = np.concatenate([fwd(x[None]) for x in base])
    assert_same_bits(alone, fwd(base), what=f"{name} {isa}: alone vs vector")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_limits_and_signed_zeros(name, dtype, isa):
    """The exact conventions: +-inf limits and signed zeros, value and sign."""
    f = require_facts(name)
    assert f.limits, f"FACTS[{name!r}].limits must state f(+-inf) (SPEC: +-inf give the limits)"
    xs = np.array([x for x, _ in f.limits], dtype=dtype)
    expected = np.array([v for _, v in f.limits], dtype=dtype)
    for x, e in zip(xs, expected):
        assert_exact(forward_fn(name)(np.full(19, x)), np.full(19, e), what=f"{name}({x!r}) on {isa}")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_nan_forward(name, dtype, isa):
    """NaN in gives NaN out, whatever lane the NaN is in, and does not spill to neighbours."""
    fwd = forward_fn(name)
    for n in (1, 5, 17, 70):
        for pos in sorted({0, n // 2, n - 1}):
            x = np.linspace(-3, 3, n).astype(dtype)
            x[pos] = np.nan
            y = fwd(x)
            assert np.isnan(y[pos]), f"{name}: NaN at {pos} of {n} gave {y[pos]!r}"
            assert not np.isnan(np.delete(y, pos)).any(), f"{name}: NaN spilled to other lanes"


# ---------------------------------------------------------------------------- backward
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_special_backward(name, dtype, isa):
    """Every special x against finite grads of both signs, zeros, subnormal and huge."""
    f = facts(name)
    xb, gb = np.meshgrid(special_inputs(dtype), np.array(GRADS, dtype=dtype))
    x, dy = xb.ravel(), gb.ravel()
    got = backward_fn(name)(dy, x)
    what = f"{name}_backward {isa}"
    if f.exact:
        assert_exact(got, _expected_exact_backward(name, dy, x), what=what)
    else:
        assert_backward_bound(got, mp_backward(name, dy, x), dy, x, dtype, what=what)
    if not f.backward_is_grad_output:
        assert np.isnan(got[np.isnan(x)]).all(), f"{what}: f'(NaN) must be NaN"
    assert_same_bits(np.concatenate([backward_fn(name)(d[None], v[None]) for d, v in zip(dy, x)]), got,
                     what=f"{what}: alone vs vector")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_backward_nonfinite_grad(name, dtype, isa):
    """grad_output +-inf / NaN: the one IEEE multiply dy * f'(x), so inf * 0 = NaN."""
    f = facts(name)
    inf, nan = math.inf, math.nan
    xs = [0.0, -0.0, 1.0, -1.0, 0.5, inf, -inf, nan, 3.0, -3.0]
    dys = [inf, -inf, nan]
    xb, gb = np.meshgrid(np.array(xs, dtype), np.array(dys, dtype))
    x, dy = xb.ravel(), gb.ravel()
    got = backward_fn(name)(dy, x)
    if f.exact:
        expected = _expected_exact_backward(name, dy, x)
    else:
        # Only the sign of f'(x) matters against an infinite or NaN grad (f' < 0 in places
        # for non-monotone gelu, silu, mish), and f'(x) = 0 gives inf * 0 = NaN.
        deriv = mp_backward(name, np.ones_like(x), x)
        with np.errstate(invalid="ignore"):
            expected = dy.astype(np.float64) * np.array([float(mpmath.sign(v)) for v in deriv])
            expected = np.where(np.isnan(x), np.nan, expected).astype(dtype)
    np.testing.assert_array_equal(got, expected, err_msg=f"{name}_backward {isa}", strict=True)


@pytest.mark.parametrize("name", [n for n in NAMES if facts(n).exact])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_exact_kinks(name, dtype, isa):
    """Around the kink at 0: the left-hand derivative at 0 (relu'(0) = 0, step(0) = 0) and
    exact values one subnormal away on both sides."""
    sub = np.finfo(dtype).smallest_subnormal
    x = np.array([-sub, -0.0, 0.0, sub], dtype=dtype)
    dy = np.array([-2.0, -2.0, 2.0, -2.0], dtype=dtype)
    assert_exact(forward_fn(name)(x), _expected_exact_forward(name, x), what=f"{name} kink")
    assert_exact(backward_fn(name)(dy, x), _expected_exact_backward(name, dy, x), what=f"{name}_backward kink")


def test_relu_step_conventions_explicit(isa):
    """The conventions spelled out, independent of FACTS: relu(-0) = +0, step(0) = 0,
    relu'(0) = 0 (so relu_backward(dy, 0) = dy * 0), NaN x gives NaN gradients."""
    for dtype in FLOAT_DTYPES:
        z = np.array([-0.0, 0.0, np.nan], dtype=dtype)
        r = simdmlp.relu(z)
        assert not np.signbit(r[:2]).any() and r[0] == 0 and r[1] == 0 and np.isnan(r[2])
        s = simdmlp.step(z)
        assert s[0] == 0 and s[1] == 0 and not np.signbit(s[:2]).any() and np.isnan(s[2])
        g = simdmlp.relu_backward(np.array([3.0, -3.0, 1.0], dtype), z)
        assert g[0] == 0 and not np.signbit(g[0]) and g[1] == 0 and np.signbit(g[1]) and np.isnan(g[2])
        ident = simdmlp.identity_backward(np.array([3.0, -0.0, np.inf], dtype), z)
        assert_same_bits(ident, np.array([3.0, -0.0, np.inf], dtype), what="identity_backward")


# ---------------------------------------------------------------- exp-based tails
def test_sigmoid_float32_subnormal_tail(isa):
    """sigmoid over [-104, -87] step 0.25 in float32: the results are subnormal or tiny
    normals and must be the correctly rounded values (np.float32 of the float64 value) to
    4 ulp, where ulp = the smallest subnormal: no flush to zero, no lost bits."""
    x = np.arange(-104.0, -87.0 + 0.125, 0.25).astype(np.float32)
    with np.errstate(all="ignore"):
        exact = reference_fns("sigmoid")[0](x.astype(np.float64))
    y = simdmlp.sigmoid(x)
    assert_forward_ulp(y, exact, np.float32, x, what=f"sigmoid float32 tail {isa}")
    assert (y[exact.astype(np.float32) > 0] > 0).all(), "flushed to zero"
    assert y[x == -100][0] == np.float32(np.float64(3.720075976020836e-44)), "sigmoid(-100) in float32"


def test_sigmoid_float64_subnormal_tail(isa):
    """The float64 counterpart: [-746, -700] step 0.25 (mpmath), subnormal results exact to 4 ulp."""
    x = np.arange(-746.0, -700.0 + 0.125, 0.25)
    y = simdmlp.sigmoid(x)
    assert_forward_ulp(y, mp_forward("sigmoid", x), np.float64, x, what=f"sigmoid float64 tail {isa}")
    assert (y[x > -744] > 0).all(), "flushed to zero"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", [n for n in NAMES if not facts(n).exact])
def test_transition_region_dense(name, dtype, isa):
    """Dense grid over [-40, 40] (step 1/64): every branch, clamp and saturation point of
    the exp-based kernels, forward and backward (dy = 1) against mpmath."""
    x = (np.arange(-40 * 64, 40 * 64 + 1) / 64.0).astype(dtype)
    y = forward_fn(name)(x)
    dy = np.ones_like(x)
    dx = backward_fn(name)(dy, x)
    assert_forward_ulp(y, mp_forward(name, x), dtype, x, what=f"{name} {isa} [-40, 40]")
    assert_backward_bound(dx, mp_backward(name, dy, x), dy, x, dtype, what=f"{name}_backward {isa} [-40, 40]")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_tanh_tiny_inputs_keep_sign_and_value(dtype, isa):
    """tanh(x) = x to within 4 ulp for subnormal and tiny x, with x's sign (odd function)."""
    fi = np.finfo(dtype)
    mags = np.array([fi.smallest_subnormal * k for k in (1, 2, 3, 1000)] + [float(fi.smallest_normal), 1e-20],
                    dtype=dtype)
    x = np.concatenate([mags, -mags])
    y = simdmlp.tanh(x)
    assert_forward_ulp(y, mp_forward("tanh", x), dtype, x, what=f"tanh tiny {isa}")
    assert (np.signbit(y) == np.signbit(x)).all(), f"tanh lost the sign: {x} -> {y}"


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu", "selu", "celu", "silu", "swish", "mish",
                                  "softplus", "log_sigmoid", "gelu"])
def test_tiny_derivatives_flush_to_zero_within_the_bound(name, isa):
    """Derivatives below 2^-99 (float32) are returned as 0, so no subnormal enters the
    arithmetic (README "no slow inputs"); SPEC's absolute term 2^-22 |dy| covers it. The
    forward values there stay the exact tiny results."""
    x = np.array([-80.0, -200.0, -1e30], np.float32)
    if name in ("tanh",):
        x = np.concatenate([x, -x])
    if name in ("log_sigmoid", "softplus"):
        x = -x if name == "log_sigmoid" else x  # the side where f' vanishes
    dx = backward_fn(name)(np.ones_like(x), x)
    assert np.all(dx == 0), f"{name}_backward({x}) = {dx}"
    assert np.all(np.abs(dx - mp_backward(name, np.ones_like(x), x).astype(np.float64)) <= 2.0**-22)
