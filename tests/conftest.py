"""Shared fixtures and helpers for the simdmlp tests.

* ``isa``: runs a test once per ISA of ``simdmlp.available_isas()``.
* ``FACTS``: what the tests know about each activation beyond ``simdmlp.reference`` (is it
  exact, its mpmath definition for float64 accuracy checks, its exact special values).
  A new activation is picked up from ``simdmlp.ACTIVATIONS`` automatically: it must have a
  reference (``reference_fns`` fails loudly otherwise) and gets every check that needs no
  more than that; the checks that need its FACTS entry (float64 via mpmath, special
  values) fail loudly until the entry exists (``require_facts``).
* Accuracy helpers implementing the bounds of SPEC.md ("Elementwise activations"):
  forward within 4 ulp of the correctly rounded value, backward
  |got - dy f'(x)| <= 8 ulp(dy f'(x)) + 2^-22 |dy| (float32) / 2^-50 |dy| (float64).
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Callable, Optional

import mpmath
import numpy as np
import pytest

import simdmlp
from simdmlp import reference

ISAS = tuple(simdmlp.available_isas())

#: The elementwise activations: simdmlp.ELEMENTWISE where the package splits them from the
#: row-wise ones (prelu, softmax, log_softmax are not elementwise maps), else ACTIVATIONS.
ELEMENTWISE_NAMES = tuple(getattr(simdmlp, "ELEMENTWISE", simdmlp.ACTIVATIONS))
FLOAT_DTYPES = (np.float32, np.float64)

#: SPEC.md bounds. Do not loosen these to make a test pass.
FORWARD_MAX_ULP = 4
BACKWARD_MAX_ULP = 8
BACKWARD_ABS = {np.dtype(np.float32): 2.0**-22, np.dtype(np.float64): 2.0**-50}

MP_DPS = 50  # decimal digits for mpmath oracles (float64 needs ~17)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(params=ISAS)
def isa(request):
    """Run the test with each available ISA's kernels, restoring the previous ISA after."""
    with simdmlp.use_isa(request.param):
        assert simdmlp.current_isa() == request.param
        yield request.param


@pytest.fixture(autouse=True)
def _restore_runtime_state():
    """No test may leak an ISA or thread-count change into the next one."""
    isa_before = simdmlp.current_isa()
    threads_before = simdmlp.get_num_threads()
    yield
    simdmlp.use_isa(isa_before)
    simdmlp.set_num_threads(threads_before)


# ------------------------------------------------------------------------ op lookups
def forward_fn(name: str) -> Callable:
    return getattr(simdmlp, name)


def backward_fn(name: str) -> Callable:
    return getattr(simdmlp, name + "_backward")


def reference_fns(name: str):
    """(forward, backward) of simdmlp.reference; fails loudly when one is missing."""
    fwd = getattr(reference, name, None)
    bwd = getattr(reference, name + "_backward", None)
    if fwd is None or bwd is None:
        pytest.fail(f"simdmlp.reference lacks {name} or {name}_backward: every activation "
                    "needs a NumPy reference (SPEC.md, simdmlp.reference)")
    return fwd, bwd


# ------------------------------------------------------------------ per-op test facts
def _mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def _mp_sigmoid_prime(x):
    e = mpmath.exp(-abs(x))  # sigmoid(x) sigmoid(-x), no cancellation
    return e / (1 + e) ** 2


def _mp_tanh_prime(x):
    e = mpmath.exp(-2 * abs(x))  # 1 - tanh^2 = 4e / (1 + e)^2
    return 4 * e / (1 + e) ** 2


def _nan_or(rule):
    return lambda x: math.nan if math.isnan(x) else rule(x)


def _mp_softplus(x):
    return x + mpmath.log1p(mpmath.exp(-x)) if x > 0 else mpmath.log1p(mpmath.exp(x))


def _mp_phi_cdf(x):
    """Phi(x) = erfc(-x / sqrt 2) / 2. mpmath's erfc squares its argument as a Python float
    in a series test and overflows beyond |x| ~ 1e154; out there Phi(x) is 1 for x > 0
    (1 - Phi < exp(-1e200)) and, for x < 0, phi(x) / |x| (the asymptotic series' first term,
    relative error < 1/x^2 = 1e-200)."""
    if abs(x) > 1e100:
        if x > 0:
            return mpmath.mpf(1)
        return mpmath.exp(-x * x / 2) / (-x * mpmath.sqrt(2 * mpmath.pi))
    return mpmath.erfc(-x / mpmath.sqrt(2)) / 2


def _mp_gelu_prime(x):
    return _mp_phi_cdf(x) + x * mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)


def _mp_silu_prime(x):
    s = _mp_sigmoid(x)
    return s * (1 + x * _mp_sigmoid(-x))


def _mp_mish(x):
    return x * mpmath.tanh(_mp_softplus(x))


def _mp_mish_prime(x):
    t = mpmath.tanh(_mp_softplus(x))
    return t + x * (1 - t * t) * _mp_sigmoid(x)


SELU_ALPHA = mpmath.mpf("1.6732632423543772848170429916717")
SELU_SCALE = mpmath.mpf("1.0507009873554804934193349852946")


def _at_inf(fn, pos, neg):
    """fn for finite x; its limits at +inf and -inf (mpmath cannot take inf * 0)."""
    def g(x):
        if mpmath.isinf(x):
            return mpmath.mpf(pos if x > 0 else neg)
        return fn(x)
    return g


def _clip(lo, hi):
    return _nan_or(lambda x: lo if x < lo else hi if x > hi else (0.0 if x == 0 else x))


@dataclasses.dataclass(frozen=True)
class OpFacts:
    """What the tests know about one activation.

    exact: results are exactly representable; compared bitwise with simdmlp.reference and
        with ``exact_forward``/``exact_derivative`` (Python rules, independent of the
        reference). Otherwise: ULP bounds against mpmath / the float64 reference.
    exact_forward, exact_derivative: for exact ops, f(x) and f'(x) of a Python float
        (NaN in -> NaN out). Backward is checked as the one IEEE multiply dy * f'(x).
    mp_forward, mp_derivative: for inexact ops, f and f' on mpmath numbers (float64 oracle).
    limits: (x, f(x)) pairs fixed exactly by the conventions of SPEC.md (+-inf, signed zero).
    backward_is_grad_output: backward returns grad_output bit for bit, even at NaN x.
    """

    exact: bool
    exact_forward: Optional[Callable[[float], float]] = None
    exact_derivative: Optional[Callable[[float], float]] = None
    mp_forward: Optional[Callable] = None
    mp_derivative: Optional[Callable] = None
    limits: tuple = ()
    backward_is_grad_output: bool = False
    #: simdmlp.reference's forward is only good enough to judge float32 results: checked
    #: against mpmath to 2^-20 float32 ulp rather than SPEC's 4 float64 ulp. (Every float64
    #: test of the native kernels uses mpmath, never the reference; SPEC's bounds bind the
    #: kernels, the reference is the textbook formula.)
    reference_float32_only: bool = False


FACTS = {
    "identity": OpFacts(
        exact=True,
        exact_forward=lambda x: x,
        exact_derivative=lambda x: 1.0,
        limits=((0.0, 0.0), (-0.0, -0.0), (math.inf, math.inf), (-math.inf, -math.inf)),
        backward_is_grad_output=True,
    ),
    "step": OpFacts(
        exact=True,
        exact_forward=_nan_or(lambda x: 1.0 if x > 0 else 0.0),
        exact_derivative=_nan_or(lambda x: 0.0),
        limits=((0.0, 0.0), (-0.0, 0.0), (math.inf, 1.0), (-math.inf, 0.0)),
    ),
    "relu": OpFacts(
        exact=True,
        exact_forward=_nan_or(lambda x: x if x > 0 else 0.0),
        exact_derivative=_nan_or(lambda x: 1.0 if x > 0 else 0.0),
        limits=((0.0, 0.0), (-0.0, 0.0), (math.inf, math.inf), (-math.inf, 0.0)),
    ),
    "sigmoid": OpFacts(
        exact=False,
        mp_forward=_mp_sigmoid,
        mp_derivative=_mp_sigmoid_prime,
        limits=((math.inf, 1.0), (-math.inf, 0.0)),
    ),
    "tanh": OpFacts(
        exact=False,
        mp_forward=mpmath.tanh,
        mp_derivative=_mp_tanh_prime,
        limits=((math.inf, 1.0), (-math.inf, -1.0), (0.0, 0.0), (-0.0, -0.0)),
    ),
    "leaky_relu": OpFacts(
        exact=False,  # one rounding of 0.01 * x (0.01 converted to the input's dtype)
        mp_forward=lambda x: x if x > 0 else mpmath.mpf(0.01) * x,
        mp_derivative=lambda x: mpmath.mpf(1) if x > 0 else mpmath.mpf(0.01),
        limits=((math.inf, math.inf), (-math.inf, -math.inf), (0.0, 0.0)),
    ),
    "relu6": OpFacts(
        exact=True,
        exact_forward=_clip(0.0, 6.0),
        exact_derivative=_nan_or(lambda x: 1.0 if 0 < x < 6 else 0.0),
        limits=((0.0, 0.0), (-0.0, 0.0), (math.inf, 6.0), (-math.inf, 0.0)),
    ),
    "hardtanh": OpFacts(
        exact=True,
        exact_forward=_nan_or(lambda x: -1.0 if x < -1 else 1.0 if x > 1 else x),
        exact_derivative=_nan_or(lambda x: 1.0 if -1 < x < 1 else 0.0),
        limits=((0.0, 0.0), (-0.0, -0.0), (math.inf, 1.0), (-math.inf, -1.0)),
    ),
    "elu": OpFacts(
        exact=False,
        mp_forward=_at_inf(lambda x: x if x > 0 else mpmath.expm1(x), math.inf, -1),
        mp_derivative=_at_inf(lambda x: mpmath.mpf(1) if x > 0 else mpmath.exp(x), 1, 0),
        limits=((math.inf, math.inf), (-math.inf, -1.0), (0.0, 0.0)),
    ),
    "selu": OpFacts(
        exact=False,
        mp_forward=_at_inf(lambda x: SELU_SCALE * (x if x > 0 else SELU_ALPHA * mpmath.expm1(x)),
                           math.inf, -SELU_SCALE * SELU_ALPHA),
        mp_derivative=_at_inf(lambda x: SELU_SCALE * (1 if x > 0 else SELU_ALPHA * mpmath.exp(x)), SELU_SCALE, 0),
        limits=((math.inf, math.inf), (0.0, 0.0)),
    ),
    "celu": OpFacts(
        exact=False,
        mp_forward=_at_inf(lambda x: x if x > 0 else mpmath.expm1(x), math.inf, -1),
        mp_derivative=_at_inf(lambda x: mpmath.mpf(1) if x > 0 else mpmath.exp(x), 1, 0),
        limits=((math.inf, math.inf), (-math.inf, -1.0), (0.0, 0.0)),
    ),
    "gelu": OpFacts(
        exact=False,
        mp_forward=_at_inf(lambda x: x * _mp_phi_cdf(x), math.inf, 0),
        mp_derivative=_at_inf(_mp_gelu_prime, 1, 0),
        # -0 at -inf, as at every x below -18.4 (x Phi(x) < 0 rounds to -0), docstring too
        limits=((math.inf, math.inf), (-math.inf, -0.0), (0.0, 0.0), (-0.0, -0.0)),
        # The reference's erfc(-x / sqrt 2) has its argument rounded, and erfc's relative
        # sensitivity is 2t: about x^2 float64 ulp of error in the tail (~600 at x = -25),
        # and SciPy's erfc loses all digits where it turns subnormal (x near -37.7). Both
        # are below 1e-12 relative or 1e-300 absolute: nothing to a float32 result.
        reference_float32_only=True,
    ),
    "silu": OpFacts(
        exact=False,
        mp_forward=_at_inf(lambda x: x * _mp_sigmoid(x), math.inf, 0),
        mp_derivative=_at_inf(_mp_silu_prime, 1, 0),
        limits=((math.inf, math.inf), (-math.inf, 0.0), (0.0, 0.0)),
    ),
    "swish": OpFacts(
        exact=False,
        mp_forward=_at_inf(lambda x: x * _mp_sigmoid(x), math.inf, 0),
        mp_derivative=_at_inf(_mp_silu_prime, 1, 0),
        limits=((math.inf, math.inf), (-math.inf, 0.0), (0.0, 0.0)),
    ),
    "mish": OpFacts(
        exact=False,
        mp_forward=_at_inf(_mp_mish, math.inf, 0),
        mp_derivative=_at_inf(_mp_mish_prime, 1, 0),
        limits=((math.inf, math.inf), (-math.inf, 0.0), (0.0, 0.0)),
    ),
    "softplus": OpFacts(
        exact=False,
        mp_forward=_at_inf(_mp_softplus, math.inf, 0),
        mp_derivative=_mp_sigmoid,
        limits=((math.inf, math.inf), (-math.inf, 0.0)),
    ),
    "softsign": OpFacts(
        exact=False,
        mp_forward=_at_inf(lambda x: x / (1 + abs(x)), 1, -1),
        mp_derivative=_at_inf(lambda x: 1 / (1 + abs(x)) ** 2, 0, 0),
        limits=((math.inf, 1.0), (-math.inf, -1.0), (0.0, 0.0), (-0.0, -0.0)),
    ),
    "log_sigmoid": OpFacts(
        exact=False,
        mp_forward=_at_inf(lambda x: -_mp_softplus(-x), 0, -math.inf),
        mp_derivative=lambda x: _mp_sigmoid(-x),
        limits=((math.inf, 0.0), (-math.inf, -math.inf)),
    ),
    "hardsigmoid": OpFacts(
        exact=False,  # one rounding of (x + 3) / 6
        mp_forward=lambda x: mpmath.mpf(0) if x <= -3 else mpmath.mpf(1) if x >= 3 else (x + 3) / 6,
        mp_derivative=lambda x: mpmath.mpf(1) / 6 if -3 < x < 3 else mpmath.mpf(0),
        limits=((math.inf, 1.0), (-math.inf, 0.0), (3.0, 1.0), (-3.0, 0.0)),
    ),
    "hardswish": OpFacts(
        exact=False,
        mp_forward=lambda x: mpmath.mpf(0) if x <= -3 else x if x >= 3 else x * (x + 3) / 6,
        mp_derivative=lambda x: mpmath.mpf(0) if x <= -3 else (2 * x + 3) / 6 if x <= 3 else mpmath.mpf(1),
        limits=((math.inf, math.inf), (-math.inf, 0.0), (-3.0, 0.0), (3.0, 3.0)),
    ),
}


#: What an activation without a FACTS entry is checked as: inexact (ULP bounds against the
#: reference in float64 for float32 inputs). Everything needing more (float64 via mpmath,
#: special values, limits) fails loudly until the entry exists.
_UNKNOWN = OpFacts(exact=False)


def facts(name: str) -> OpFacts:
    return FACTS.get(name, _UNKNOWN)


def require_facts(name: str) -> OpFacts:
    if name not in FACTS:
        pytest.fail(f"activation {name!r} has no entry in tests/conftest.py FACTS: add its "
                    "exactness, mpmath definition and special values there")
    return FACTS[name]


# ------------------------------------------------------------------- mpmath oracles
@functools.lru_cache(maxsize=None)
def _mp_eval(name: str, which: str, x: float):
    f = require_facts(name)
    fn = f.mp_forward if which == "f" else f.mp_derivative
    if fn is None:
        pytest.fail(f"FACTS[{name!r}] has no mpmath {'function' if which == 'f' else 'derivative'}")
    with mpmath.workdps(MP_DPS):
        return fn(mpmath.mpf(x))


def mp_forward(name: str, xs) -> np.ndarray:
    """f(x) for each element, as an object array of mpmath numbers (NaN for NaN)."""
    out = np.empty(np.shape(xs), dtype=object)
    for i, x in np.ndenumerate(np.asarray(xs, dtype=np.float64)):
        out[i] = mpmath.mpf("nan") if math.isnan(x) else _mp_eval(name, "f", float(x))
    return out


def mp_backward(name: str, dys, xs) -> np.ndarray:
    """dy * f'(x) for each element, exactly (object array of mpmath numbers)."""
    dys = np.asarray(dys, dtype=np.float64)
    out = np.empty(dys.shape, dtype=object)
    for i, x in np.ndenumerate(np.asarray(xs, dtype=np.float64)):
        dy = float(dys[i])
        if math.isnan(x) or math.isnan(dy):
            out[i] = mpmath.mpf("nan")
        else:
            with mpmath.workdps(MP_DPS):
                out[i] = mpmath.mpf(dy) * _mp_eval(name, "d", float(x))
    return out


# ------------------------------------------------------------------------ ULP helpers
def mp_round(v, dtype) -> float:
    """The value of dtype nearest to the real number v (ties to even), subnormals included:
    the 'correctly rounded value' of SPEC.md."""
    fi = np.finfo(dtype)
    with mpmath.workdps(MP_DPS):  # never round v to the default 53 bits first
        v = mpmath.mpf(v)
        if mpmath.isnan(v):
            return math.nan
        if mpmath.isinf(v) or v == 0:
            return float(v)
        if abs(v) >= mpmath.mpf(float(fi.smallest_normal)):
            with mpmath.workprec(fi.nmant + 1):
                r = +v  # rounds to the significand's bits, nearest-even
        else:
            q = mpmath.mpf(float(fi.smallest_subnormal))
            r = mpmath.nint(v / q) * q  # nint: nearest, ties to even
        if abs(r) > mpmath.mpf(float(fi.max)):
            return math.copysign(math.inf, float(v))
        return float(np.asarray(float(r)).astype(dtype))  # exact: r is representable


def correctly_rounded(exact, dtype) -> np.ndarray:
    """exact (float64 array of an accurate float64 approximation, only used for float32
    results; or object array of mpmath numbers) rounded to dtype."""
    exact = np.asarray(exact)
    if exact.dtype == object:
        return np.array([mp_round(v, dtype) for v in exact.ravel()], dtype=dtype).reshape(exact.shape)
    if np.dtype(dtype) == np.float64 and exact.dtype == np.float64:
        return exact.copy()  # caller vouches that these are the correctly rounded values
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return exact.astype(dtype)


def ulp(values, dtype) -> np.ndarray:
    """ulp(v) = 2^(e - p + 1) for |v| in [2^e, 2^(e+1)) in dtype, and the smallest
    subnormal for |v| below the smallest normal (so ulp(0) = smallest subnormal).
    Returned as float64; inf for infinite or NaN values."""
    fi = np.finfo(dtype)
    a = np.abs(np.asarray(values, dtype=np.float64))
    finite = np.isfinite(a)
    m, e = np.frexp(np.where(finite, a, 1.0))
    u = np.ldexp(1.0, e - fi.nmant - 1)
    u = np.where(a < float(fi.smallest_normal), float(fi.smallest_subnormal), u)
    return np.where(finite, u, np.inf)


def ulp_error(got, exact, dtype) -> np.ndarray:
    """|got - cr| / ulp(cr), cr = exact correctly rounded to dtype (SPEC: "within 4 ULP of
    the correctly rounded value"). exact: float64 array from float64 math (for float32
    results) or an object array of mpmath numbers. NaN vs NaN and equal infinities count
    as 0; NaN vs number, or an infinity vs anything else, as inf."""
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    cr = correctly_rounded(exact, dtype).astype(np.float64)
    g = got.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(g - cr) / ulp(cr, dtype)
    both_nan = np.isnan(g) & np.isnan(cr)
    one_nan = np.isnan(g) ^ np.isnan(cr)
    inf_involved = (np.isinf(g) | np.isinf(cr)) & ~np.isnan(g) & ~np.isnan(cr)
    err = np.where(inf_involved, np.where(g == cr, 0.0, np.inf), err)
    err = np.where(both_nan, 0.0, err)
    err = np.where(one_nan, np.inf, err)
    return err


def _worst(mask_bad, score, columns, limit=6):
    idx = np.flatnonzero(mask_bad.ravel())
    idx = idx[np.argsort(-np.nan_to_num(score.ravel()[idx], nan=np.inf))][:limit]
    lines = []
    for i in idx:
        lines.append("  " + ", ".join(f"{k}={np.asarray(v).ravel()[i]!r}" for k, v in columns.items()))
    return "\n".join(lines)


def assert_forward_ulp(got, exact, dtype, x, what="", max_ulp=FORWARD_MAX_ULP):
    """Forward accuracy per SPEC: every element within max_ulp of the correctly rounded value."""
    err = ulp_error(got, exact, dtype)
    bad = ~(err <= max_ulp)
    if bad.any():
        cr = correctly_rounded(exact, dtype)
        pytest.fail(f"{what}: {int(bad.sum())} of {err.size} results off by more than "
                    f"{max_ulp} ulp (max {np.max(err):.4g} ulp); worst:\n"
                    + _worst(bad, err, {"x": x, "got": got, "correctly_rounded": cr, "ulp_err": err}))


def backward_bound_check(got, exact, dy, dtype):
    """SPEC backward bound: |got - dy f'(x)| <= 8 ulp(dy f'(x)) + c |dy|, c = 2^-22
    (float32) or 2^-50 (float64). exact = dy f'(x): float64 array (for float32 results) or
    object array of mpmath numbers. Returns (ok mask, error, bound); NaN must match NaN."""
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    exact = np.asarray(exact)
    g = got.astype(np.float64)
    dyf = np.abs(np.asarray(dy, dtype=np.float64))
    cr = correctly_rounded(exact, dtype).astype(np.float64)
    if exact.dtype == object:
        err = np.empty(g.shape, dtype=np.float64)
        for i, v in np.ndenumerate(exact):
            if mpmath.isnan(v) or math.isnan(g[i]) or mpmath.isinf(v) or math.isinf(g[i]):
                err[i] = 0.0 if (g[i] == cr[i] or (math.isnan(g[i]) and mpmath.isnan(v))) else math.inf
            else:
                with mpmath.workdps(MP_DPS):
                    err[i] = float(abs(mpmath.mpf(float(g[i])) - v))
    else:
        ex = exact.astype(np.float64)
        with np.errstate(invalid="ignore"):
            err = np.abs(g - ex)
        special = np.isnan(g) | np.isnan(ex) | np.isinf(g) | np.isinf(ex)
        same = (g == ex) | (np.isnan(g) & np.isnan(ex))
        err = np.where(special, np.where(same, 0.0, np.inf), err)
    with np.errstate(over="ignore", invalid="ignore"):
        bound = BACKWARD_MAX_ULP * ulp(cr, dtype) + BACKWARD_ABS[np.dtype(dtype)] * dyf
    bound = np.where(np.isnan(bound), np.inf, bound)
    ok = err <= bound
    return ok, err, bound


def assert_backward_bound(got, exact, dy, x, dtype, what=""):
    ok, err, bound = backward_bound_check(got, exact, dy, dtype)
    if not ok.all():
        bad = ~ok
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = err / bound
        pytest.fail(f"{what}: {int(bad.sum())} of {ok.size} gradients outside the SPEC bound "
                    f"8 ulp + {BACKWARD_ABS[np.dtype(dtype)]:.3g}|dy|; worst:\n"
                    + _worst(bad, ratio, {"x": x, "dy": dy, "got": got,
                                          "dy*f'(x)": correctly_rounded(exact, dtype),
                                          "err/bound": ratio}))


def assert_same_bits(got, expected, what=""):
    """Bitwise equality (NaN payloads included): same dtype, same shape, same bytes."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype} != {expected.dtype}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    uint = {2: np.uint16, 4: np.uint32, 8: np.uint64}[got.dtype.itemsize]
    gb = np.ascontiguousarray(got).view(uint)
    eb = np.ascontiguousarray(expected).view(uint)
    if not np.array_equal(gb, eb):
        bad = gb != eb
        pytest.fail(f"{what}: {int(bad.sum())} of {bad.size} elements differ bitwise; first: "
                    + _worst(bad, np.zeros(bad.shape), {"got": got, "expected": expected}, 4))


def assert_exact(got, expected, what=""):
    """Equal values (NaN where NaN) with the same sign on every non-NaN element (so +0 and
    -0 are told apart, as the conventions fix them)."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype} != {expected.dtype}"
    np.testing.assert_array_equal(got, expected, err_msg=what, strict=True)
    notnan = ~np.isnan(expected)
    sign_diff = notnan & (np.signbit(got) != np.signbit(expected))
    if sign_diff.any():
        pytest.fail(f"{what}: wrong sign (of a zero) at {int(sign_diff.sum())} elements: "
                    + _worst(sign_diff, np.zeros(sign_diff.shape), {"got": got, "expected": expected}, 4))


# --------------------------------------------------------------------- test inputs
def make_inputs(n: int, dtype, seed: int, specials: bool = True) -> np.ndarray:
    """n values mixing scales: N(0,1), uniform [-30, 30], huge (up to the largest finite),
    tiny (1e-30..1e-10 / 1e-300..1e-100), subnormal, exact zeros of both signs and
    (when specials) rare +-inf and NaN. Deterministic in (n, dtype, seed)."""
    dtype = np.dtype(dtype)
    fi = np.finfo(dtype)
    rng = np.random.default_rng([seed, n, dtype.itemsize])
    kind = rng.choice(7, size=n, p=[0.3, 0.3, 0.1, 0.1, 0.08, 0.07, 0.05])
    sign = rng.choice([-1.0, 1.0], size=n)
    maxexp = math.log10(float(fi.max))
    tinyexp = (-30, -10) if dtype == np.float32 else (-300, -100)
    sub = float(fi.smallest_subnormal) * rng.integers(1, 2 ** (fi.nmant), size=n)
    with np.errstate(over="ignore"):
        vals = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4, kind == 5],
            [rng.standard_normal(n),
             rng.uniform(-30, 30, n),
             sign * 10 ** rng.uniform(1.5, maxexp, n),
             sign * 10 ** rng.uniform(*tinyexp, n),
             sign * sub,
             sign * 0.0],
            default=(rng.choice([math.inf, -math.inf, math.nan], size=n) if specials
                     else rng.uniform(-5, 5, n)),
        )
        out = vals.astype(dtype)
    out[~np.isnan(out) & np.isinf(out) & (kind == 2)] = fi.max  # 10**maxexp may round up
    return out


def make_grads(n: int, dtype, seed: int) -> np.ndarray:
    """grad_output values: N(0,1), wide-range magnitudes of both signs, exact +-0."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng([seed, n, dtype.itemsize, 7])
    kind = rng.choice(4, size=n, p=[0.5, 0.2, 0.15, 0.15])
    sign = rng.choice([-1.0, 1.0], size=n)
    hi = 30 if dtype == np.float32 else 200
    vals = np.select([kind == 0, kind == 1, kind == 2],
                     [rng.standard_normal(n), sign * 10 ** rng.uniform(-hi, hi, n), sign * 0.0],
                     default=sign * rng.integers(1, 5, n))
    return vals.astype(dtype)


def sample_indices(n: int, k: int = 64) -> np.ndarray:
    """Up to k deterministic indices into an array of length n, always including both ends
    (the float64 checks run mpmath on these only)."""
    if n <= k:
        return np.arange(n)
    return np.unique(np.concatenate([[0, n - 1], np.linspace(0, n - 1, k - 2).astype(np.int64)]))
