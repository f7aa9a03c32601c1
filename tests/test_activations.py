"""Every activation against its reference: op x dtype x ISA x length x memory layout.

One helper, ``check_against_reference``, checks forward and backward of an op:

* exact ops (FACTS[name].exact: identity, step, relu): equal to simdmlp.reference in the
  same dtype, value for value, with the sign of every zero (relu(-0) = +0, dy * 0 keeps
  the sign of dy); identity and identity_backward bit for bit.
* other ops: forward within 4 ulp of the correctly rounded value, backward within
  8 ulp(dy f'(x)) + 2^-22|dy| (float32) / 2^-50|dy| (float64), the bounds of SPEC.md.
  float32: the oracle is simdmlp.reference evaluated in float64 on the float32 inputs.
  float64: the oracle is mpmath (50 digits) on a sample of at most 64 elements per call
  (MPMATH SAMPLE: the other float64 elements are only checked for NaN placement here;
  test_float64_wide_sample and test_special_values cover more float64 inputs).
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

import simdmlp
from conftest import (
    ELEMENTWISE_NAMES,
    BACKWARD_MAX_ULP,
    FORWARD_MAX_ULP,
    FLOAT_DTYPES,
    assert_backward_bound,
    assert_exact,
    assert_forward_ulp,
    assert_same_bits,
    backward_fn,
    facts,
    forward_fn,
    make_grads,
    make_inputs,
    mp_backward,
    mp_forward,
    reference_fns,
    sample_indices,
    ulp,
)

NAMES = ELEMENTWISE_NAMES
# (name, params): every function with its defaults, plus the parameters that change a
# kernel's algorithm or path (the tanh form of GELU; scaling by beta; elu's alpha). The
# parameters are exact in float32, so the kernel and the float64 reference use one value.
VARIANTS = [(name, {}) for name in NAMES] + [
    ("gelu", {"approximate": "tanh"}),
    ("swish", {"beta": 1.5}),
    ("softplus", {"beta": 4.0}),
    ("elu", {"alpha": 0.5}),
]
VARIANT_IDS = [name + "".join(f"-{k}={v}" for k, v in params.items()) for name, params in VARIANTS]
DTYPE_IDS = [np.dtype(d).name for d in FLOAT_DTYPES]

# Vector widths in elements of the kernels (scalar 1; NEON 4/2; AVX2 8/4; AVX-512 16/8):
# every k*w - 1, k*w, k*w + 1 for k = 1..4 hits full vectors, the 4x unrolled body and the
# masked tail; all of them lie in 0..70, listed explicitly so the intent survives changes.
VECTOR_WIDTHS = (1, 2, 4, 8, 16)
LENGTHS = sorted(
    set(range(71))
    | {k * w + d for w in VECTOR_WIDTHS for k in range(1, 5) for d in (-1, 0, 1)}
    | {127, 128, 129, 255, 256, 257, 1000, 4099}
)
LAYOUT_LENGTHS = (0, 1, 7, 16, 17, 33, 64, 65, 1000, 4099)
LAYOUTS = (
    "strided",            # x[::2] of a larger buffer
    "negative_stride",    # x[::-1] of a reversed copy
    "transposed_2d",      # a 2-D transposed (non-contiguous) view
    "misaligned",         # x, grad_output at byte offset 1 and out at byte offset 2
    "in_place",           # forward out=x, backward out=grad_output
    "out",                # a fresh out= array
    "overlap_out_below",  # x = a[1:], out = a[:-1]
    "overlap_out_above",  # x = a[:-1], out = a[1:]
)


# ------------------------------------------------------------------------- helper
def check_against_reference(name, x, dy, y, dx, what="", params=None):
    """Check y = simdmlp.NAME(x, **params) and dx = simdmlp.NAME_backward(dy, x, **params)
    (x, dy, y, dx of one shape and dtype, any layout) against the reference, with SPEC's
    bounds. Non-default params: float32 only (the mpmath facts hold the defaults)."""
    f = facts(name)
    ref_fwd, ref_bwd = reference_fns(name)
    if params:
        assert np.asarray(x).dtype == np.float32, "mpmath facts are for the default parameters"
        ref_fwd0, ref_bwd0 = ref_fwd, ref_bwd
        ref_fwd = lambda v: ref_fwd0(v, **params)  # noqa: E731
        ref_bwd = lambda g, v: ref_bwd0(g, v, **params)  # noqa: E731
    x, dy, y, dx = (np.asarray(a) for a in (x, dy, y, dx))
    dtype = x.dtype
    for label, r in (("forward", y), ("backward", dx)):
        assert r.dtype == dtype, f"{what} {label}: dtype {r.dtype}, expected {dtype}"
        assert r.shape == x.shape, f"{what} {label}: shape {r.shape}, expected {x.shape}"
    # NaN in gives NaN out in every forward (and nothing else here gives NaN: dy is finite).
    np.testing.assert_array_equal(np.isnan(y), np.isnan(x), err_msg=f"{what} forward: NaN placement")
    if not f.backward_is_grad_output:
        nan_in = np.isnan(x) | np.isnan(dy)
        np.testing.assert_array_equal(np.isnan(dx), nan_in, err_msg=f"{what} backward: NaN placement")

    if f.exact:
        with np.errstate(all="ignore"):
            assert_exact(y, ref_fwd(x), what=f"{what} forward")
            assert_exact(dx, ref_bwd(dy, x), what=f"{what} backward")
        if name == "identity":
            assert_same_bits(y, x, what=f"{what} identity returns x")
        if f.backward_is_grad_output:
            assert_same_bits(dx, dy, what=f"{what} backward returns grad_output")
        return

    if dtype == np.float32:
        x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
        with np.errstate(all="ignore"):
            exact_y = ref_fwd(x64)
            exact_dx = ref_bwd(dy64, x64)
        assert_forward_ulp(y, exact_y, dtype, x, what=f"{what} forward")
        assert_backward_bound(dx, exact_dx, dy, x, dtype, what=f"{what} backward")
    else:  # float64: mpmath on a sample (MPMATH SAMPLE)
        idx = sample_indices(x.size)
        xs, dys = x.ravel()[idx], dy.ravel()[idx]
        assert_forward_ulp(y.ravel()[idx], mp_forward(name, xs), dtype, xs, what=f"{what} forward (mpmath)")
        assert_backward_bound(dx.ravel()[idx], mp_backward(name, dys, xs), dys, xs, dtype,
                              what=f"{what} backward (mpmath)")


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize]).copy()


def _two_d_shape(n):
    if n == 0:
        return (1, 0)
    r = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    return (r, n // r)


def _misaligned(a, offset):
    """A writeable C-contiguous array with a's values whose data starts `offset` bytes
    past an allocation (so it is not aligned to its itemsize)."""
    buf = bytearray(a.nbytes + offset)
    v = np.frombuffer(buf, dtype=a.dtype, count=a.size, offset=offset).reshape(a.shape)
    v[...] = a
    return v


def _view(a, layout):
    """A view with a's values in the given input layout (for x and grad_output)."""
    if layout == "strided":
        buf = np.full(2 * a.size, np.nan, dtype=a.dtype)
        buf[::2] = a
        return buf[::2]
    if layout == "negative_stride":
        return a[::-1].copy()[::-1]
    if layout == "transposed_2d":
        r, c = a.shape
        parent = np.full((c, r + 1), np.nan, dtype=a.dtype)
        parent[:, :r] = a.T
        return parent[:, :r].T
    if layout == "misaligned":
        return _misaligned(a, 1)
    return a.copy()


def run_layout(name, x, dy, layout):
    """Call forward and backward with x (and dy) in `layout`; check the out/in-place
    contract (the returned object is out; arguments not being written are unchanged) and
    return (y, dx) as plain arrays with x's logical shape."""
    fwd, bwd = forward_fn(name), backward_fn(name)
    x_bits, dy_bits = _bits(x), _bits(dy)

    # ---- forward
    if layout in ("overlap_out_below", "overlap_out_above"):
        a = np.full(x.size + 1, np.nan, dtype=x.dtype)
        xv, outv = (a[1:], a[:-1]) if layout == "overlap_out_below" else (a[:-1], a[1:])
        xv[...] = x
        r = fwd(xv, out=outv)
        assert r is outv, "forward must return the out array"
        y = outv.copy()
    elif layout == "in_place":
        xv = x.copy()
        r = fwd(xv, out=xv)
        assert r is xv, "forward in place must return x"
        y = xv.copy()
    elif layout in ("out", "misaligned"):
        xv = _view(x, "misaligned" if layout == "misaligned" else "contiguous")
        outv = np.full(x.shape, 7.0, dtype=x.dtype)
        if layout == "misaligned":
            outv = _misaligned(outv, 2)
            assert x.size == 0 or not (xv.flags.aligned or outv.flags.aligned), "should be misaligned"
        r = fwd(xv, out=outv)
        assert r is outv, "forward must return the out array"
        assert np.array_equal(_bits(xv), x_bits), "forward modified x"
        y = outv.copy()
    else:
        xv = _view(x, layout)
        assert xv.size <= 1 or not xv.flags.c_contiguous, "layout should be non-contiguous"
        y = fwd(xv)
        assert np.array_equal(_bits(xv), x_bits), "forward modified x"

    # ---- backward
    if layout in ("overlap_out_below", "overlap_out_above"):
        a = np.full(x.size + 1, np.nan, dtype=x.dtype)
        xv, outv = (a[1:], a[:-1]) if layout == "overlap_out_below" else (a[:-1], a[1:])
        xv[...] = x
        dyv = dy.copy()
        r = bwd(dyv, xv, out=outv)
        assert r is outv, "backward must return the out array"
        assert np.array_equal(_bits(dyv), dy_bits), "backward modified grad_output"
        dx = outv.copy()
    elif layout == "in_place":
        dyv, xv = dy.copy(), x.copy()
        r = bwd(dyv, xv, out=dyv)
        assert r is dyv, "backward in place must return grad_output (the out array)"
        assert np.array_equal(_bits(xv), x_bits), "backward modified x"
        dx = dyv.copy()
    elif layout in ("out", "misaligned"):
        mis = layout == "misaligned"
        dyv = _view(dy, "misaligned" if mis else "contiguous")
        xv = _view(x, "misaligned" if mis else "contiguous")
        outv = np.full(x.shape, 7.0, dtype=x.dtype)
        if mis:
            outv = _misaligned(outv, 2)
        r = bwd(dyv, xv, out=outv)
        assert r is outv, "backward must return the out array"
        assert np.array_equal(_bits(xv), x_bits), "backward modified x"
        assert np.array_equal(_bits(dyv), dy_bits), "backward modified grad_output"
        dx = outv.copy()
    else:
        dyv, xv = _view(dy, layout), _view(x, layout)
        dx = bwd(dyv, xv)
        assert np.array_equal(_bits(xv), x_bits), "backward modified x"
        assert np.array_equal(_bits(dyv), dy_bits), "backward modified grad_output"
    return np.asarray(y), np.asarray(dx)


# -------------------------------------------------------------------------- tests
@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_lengths_contiguous(name, dtype, n, isa):
    x = make_inputs(n, dtype, seed=1)
    dy = make_grads(n, dtype, seed=1)
    x_bits, dy_bits = _bits(x), _bits(dy)
    y = forward_fn(name)(x)
    dx = backward_fn(name)(dy, x)
    assert np.array_equal(_bits(x), x_bits) and np.array_equal(_bits(dy), dy_bits), \
        "arguments were modified"
    check_against_reference(name, x, dy, y, dx, what=f"{name} {isa} n={n}")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("n", LAYOUT_LENGTHS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_layouts(name, dtype, n, layout, isa):
    x = make_inputs(n, dtype, seed=2)
    dy = make_grads(n, dtype, seed=2)
    if layout == "transposed_2d":
        x, dy = x.reshape(_two_d_shape(n)), dy.reshape(_two_d_shape(n))
    y, dx = run_layout(name, x, dy, layout)
    what = f"{name} {isa} n={n} {layout}"
    check_against_reference(name, x, dy, y, dx, what=what)
    # SPEC determinism: bitwise the same as the contiguous call.
    assert_same_bits(y, forward_fn(name)(x), what=f"{what}: forward differs from contiguous")
    assert_same_bits(dx, backward_fn(name)(dy, x), what=f"{what}: backward differs from contiguous")


@pytest.mark.parametrize("shape", [(3, 5), (7, 1, 13), (2, 3, 4, 5), (1, 1), (17, 33)])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_nd_shapes(name, dtype, shape, isa):
    n = math.prod(shape)
    x = make_inputs(n, dtype, seed=3).reshape(shape)
    dy = make_grads(n, dtype, seed=3).reshape(shape)
    y, dx = forward_fn(name)(x), backward_fn(name)(dy, x)
    check_against_reference(name, x, dy, y, dx, what=f"{name} {isa} shape={shape}")
    # n-d is elementwise: the same bits as the flat call.
    assert_same_bits(y, forward_fn(name)(x.ravel()).reshape(shape), what="n-d vs flat forward")
    assert_same_bits(dx, backward_fn(name)(dy.ravel(), x.ravel()).reshape(shape), what="n-d vs flat backward")


@pytest.mark.parametrize("name", NAMES)
def test_float32_bit_pattern_sweep(name, isa):
    """Every 4093rd float32 bit pattern (about a million inputs over every binade, NaNs,
    infinities and subnormals included), forward and backward with dy = 1 and random dy."""
    bits = np.arange(0, 2**32, 4093, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    x = np.where(np.isnan(x), np.float32(np.nan), x)  # canonical quiet NaNs only
    ones = np.ones_like(x)
    dy = make_grads(x.size, np.float32, seed=4)
    y = forward_fn(name)(x)
    check_against_reference(name, x, ones, y, backward_fn(name)(ones, x), what=f"{name} {isa} sweep dy=1")
    check_against_reference(name, x, dy, y, backward_fn(name)(dy, x), what=f"{name} {isa} sweep")


@pytest.mark.parametrize("name, params", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("far", [-9.5, 9.5])
def test_mixed_vectors(name, params, far, isa):
    """Kernels may branch per vector on a range test (GELU on AVX-512 runs only its table
    path when every lane has |x| < 3.9375, both paths and a per-lane select otherwise): the
    bit-pattern sample again, with one far lane in every 8, so that every vector, on every
    width, holds one and every sampled value goes through the mixed case."""
    bits = np.arange(0, 2**32, 4093 * 5, dtype=np.uint64).astype(np.uint32)
    xs = bits.view(np.float32)
    xs = np.where(np.isnan(xs), np.float32(np.nan), xs)
    n = xs.size // 7 * 7
    x = np.full((n // 7, 8), np.float32(far))
    x[:, :7] = xs[:n].reshape(-1, 7)
    x = x.ravel()
    dy = make_grads(x.size, np.float32, seed=6)
    check_against_reference(name, x, dy, forward_fn(name)(x, **params), backward_fn(name)(dy, x, **params),
                            what=f"{name} {params} {isa} mixed with {far}", params=params)


def _regimes(dtype, seed=11):
    """Blocks of 3 * 1024 + 5 inputs, each taking another route through the loops'
    per-vector and per-chunk choices (GELU on AVX-512: its table path, its tail path, both
    with a select, or the sorted streams of split_chunk): standard normal (tables only),
    uniform over +-10 (both kinds in every vector), |x| in [4, 16] (tail and saturated
    lanes), normal with 1 lane in 64 at 9.5 (a few tail lanes), uniform over +-6 with 1
    lane in 8 NaN, +-inf, -100 or 1e4, and values beyond both of GELU's saturation points
    only (-inf, -1e4, -100, -15, 6, 100, 1e4, inf: results without arithmetic)."""
    rng = np.random.default_rng(seed)
    m = 3 * 1024 + 5
    specials = np.array([np.nan, np.inf, -np.inf, -100.0, 1e4])
    blocks = [
        rng.standard_normal(m),
        rng.uniform(-10.0, 10.0, m),
        rng.uniform(4.0, 16.0, m) * rng.choice([-1.0, 1.0], m),
        np.where(rng.random(m) < 1 / 64, 9.5, rng.standard_normal(m)),
        np.where(rng.random(m) < 1 / 8, rng.choice(specials, m), rng.uniform(-6.0, 6.0, m)),
        rng.choice(np.array([-np.inf, -1e4, -100.0, -15.0, 6.0, 100.0, 1e4, np.inf]), m),
    ]
    return np.concatenate(blocks).astype(dtype)


@pytest.mark.parametrize("name, params", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_lane_bits_independent_of_neighbours(name, params, dtype, isa):
    """A lane's result must not depend on its neighbours nor on where vectors and chunks
    start, whatever route the loops choose for them: the whole array against every
    shift of it by 1..17 elements, and against single-element calls (every 13th)."""
    x = _regimes(dtype)
    dy = make_grads(x.size, dtype, seed=12)
    def fwd(v):
        return forward_fn(name)(v, **params)
    def bwd(g, v):
        return backward_fn(name)(g, v, **params)
    y, dx = fwd(x), bwd(dy, x)
    for k in range(1, 18):
        assert_same_bits(fwd(x[k:]), y[k:], what=f"{name} {isa} forward, shifted by {k}")
        assert_same_bits(bwd(dy[k:], x[k:]), dx[k:], what=f"{name} {isa} backward, shifted by {k}")
    idx = np.arange(0, x.size, 13)
    assert_same_bits(np.concatenate([fwd(x[i:i + 1]) for i in idx]), y[idx],
                     what=f"{name} {isa} forward, one element at a time")
    assert_same_bits(np.concatenate([bwd(dy[i:i + 1], x[i:i + 1]) for i in idx]), dx[idx],
                     what=f"{name} {isa} backward, one element at a time")


@pytest.mark.parametrize("name", NAMES)
def test_float64_wide_sample(name, isa):
    """float64 over the whole exponent range and the transition region [-40, 40]
    (MPMATH SAMPLE of 600 inputs; mpmath results are cached across ISAs)."""
    rng = np.random.default_rng(5)
    mag = np.concatenate([10.0 ** rng.uniform(-320, 308, 300), rng.uniform(0, 40, 300)])
    x = mag * rng.choice([-1.0, 1.0], size=mag.size)
    dy = make_grads(x.size, np.float64, seed=5)
    y, dx = forward_fn(name)(x), backward_fn(name)(dy, x)
    f = facts(name)
    if f.exact:
        check_against_reference(name, x, dy, y, dx, what=f"{name} {isa} float64 sample")
        return
    assert_forward_ulp(y, mp_forward(name, x), np.float64, x, what=f"{name} {isa} forward (mpmath)")
    assert_backward_bound(dx, mp_backward(name, dy, x), dy, x, np.float64,
                          what=f"{name} {isa} backward (mpmath)")


@pytest.mark.parametrize("name", NAMES)
def test_reference_oracle_matches_mpmath(name):
    """The float32 checks trust simdmlp.reference in float64: check that oracle against
    mpmath with the same bounds (otherwise a wrong reference would pass wrong kernels)."""
    f = facts(name)
    ref_fwd, ref_bwd = reference_fns(name)
    x = make_inputs(400, np.float64, seed=6, specials=False)
    dy = make_grads(400, np.float64, seed=6)
    with np.errstate(all="ignore"):
        y, dx = ref_fwd(x), ref_bwd(dy, x)
    if f.exact:
        expected_y = np.array([f.exact_forward(v) for v in x.tolist()])
        expected_dx = dy * np.array([f.exact_derivative(v) for v in x.tolist()])
        assert_exact(y, expected_y, what=f"reference.{name}")
        assert_exact(dx, expected_dx, what=f"reference.{name}_backward")
        return
    if f.reference_float32_only:
        exact = np.array([float(v) for v in mp_forward(name, x)])  # within 2^-29 float32 ulp
        with np.errstate(invalid="ignore"):
            err = np.abs(y - exact) / ulp(exact, np.float32)
        err = np.where(y == exact, 0.0, err)  # equal infinities
        bad = ~(err <= 2.0**-20)
        assert not bad.any(), (f"reference.{name}: not a float32 oracle at x = {x[bad][:5]} "
                               f"(errors {err[bad][:5]} float32 ulp)")
    else:
        assert_forward_ulp(y, mp_forward(name, x), np.float64, x, what=f"reference.{name}")
    assert_backward_bound(dx, mp_backward(name, dy, x), dy, x, np.float64,
                          what=f"reference.{name}_backward")


LONGDOUBLE_IS_EXTENDED = np.finfo(np.longdouble).nmant >= 63


@pytest.mark.skipif(not LONGDOUBLE_IS_EXTENDED, reason="needs an extended or quad long double")
@pytest.mark.parametrize("name", NAMES)
def test_float64_bit_pattern_sweep(name, isa):
    """About a million float64 bit patterns (every binade, subnormals, +-inf; NaN made
    quiet). Exact ops: bitwise against the reference. Other ops: the reference evaluated in
    long double (>= 64-bit significand, errors ~1e-3 float64 ulp) screens every element;
    any element it finds within 1 ulp of the bound is judged again exactly with mpmath, so
    the screen never decides a failure on its own."""
    step = (1 << 44) + 12345  # odd, ~2^20 patterns over all 2^64
    bits = np.arange(0, 1 << 20, dtype=np.uint64) * np.uint64(step)
    x = bits.view(np.float64)
    x = np.where(np.isnan(x), np.nan, x)
    dy = make_grads(x.size, np.float64, seed=8)
    y, dx = forward_fn(name)(x), backward_fn(name)(dy, x)
    f = facts(name)
    if f.exact:
        check_against_reference(name, x, dy, y, dx, what=f"{name} {isa} float64 sweep")
        return
    np.testing.assert_array_equal(np.isnan(y), np.isnan(x))
    ref_fwd, ref_bwd = reference_fns(name)
    xl, dyl = x.astype(np.longdouble), dy.astype(np.longdouble)
    # The screen measures in the smaller ulp when a value sits on a power of two (the
    # long double value may round to either side of it), and leaves 1 ulp of margin.
    def screen_ulp(v):
        return ulp(np.abs(v) * (1 - 2.0**-50), np.float64)

    try:
        with np.errstate(all="ignore"):
            exact_y, exact_dx = ref_fwd(xl), ref_bwd(dyl, xl)
        in_long_double = exact_y.dtype == np.longdouble and exact_dx.dtype == np.longdouble
    except TypeError:  # e.g. a scipy.special function without a long double loop
        in_long_double = False
    if not in_long_double:
        # No long double oracle: judge every 256th element exactly with mpmath instead.
        idx = np.arange(0, x.size, 256)
        assert_forward_ulp(y[idx], mp_forward(name, x[idx]), np.float64, x[idx],
                           what=f"{name} {isa} sweep sample (mpmath)")
        assert_backward_bound(dx[idx], mp_backward(name, dy[idx], x[idx]), dy[idx], x[idx], np.float64,
                              what=f"{name}_backward {isa} sweep sample (mpmath)")
        return
    with np.errstate(all="ignore"):
        # forward screen: |got - cr| in ulps, cr from the long double value
        cr = exact_y.astype(np.float64)
        err = np.abs(y - cr) / screen_ulp(cr)
        err = np.where(np.isnan(x) | (y == cr), 0.0, err)
        # backward screen: |got - dy f'| against the SPEC bound minus 1 ulp of margin
        u = screen_ulp(exact_dx.astype(np.float64))
        bwd_err = np.abs(dx.astype(np.longdouble) - exact_dx).astype(np.float64)
        bwd_margin = (BACKWARD_MAX_ULP - 1) * u + 2.0**-50 * np.abs(dy)
        bwd_err = np.where(np.isnan(x) | (dx == exact_dx), 0.0, bwd_err)
    suspects = np.flatnonzero(~(err <= FORWARD_MAX_ULP - 1))
    assert suspects.size < 1000, f"{name} {isa}: {suspects.size} forward results near or over 4 ulp"
    if suspects.size:
        xs = x[suspects]
        assert_forward_ulp(y[suspects], mp_forward(name, xs), np.float64, xs, what=f"{name} {isa} sweep (mpmath)")
    suspects = np.flatnonzero(~(bwd_err <= bwd_margin))
    assert suspects.size < 1000, f"{name}_backward {isa}: {suspects.size} gradients near or over the bound"
    if suspects.size:
        xs, dys = x[suspects], dy[suspects]
        assert_backward_bound(dx[suspects], mp_backward(name, dys, xs), dys, xs, np.float64,
                              what=f"{name}_backward {isa} sweep (mpmath)")


@pytest.mark.skipif(os.environ.get("SIMDMLP_TEST_EXHAUSTIVE") != "1",
                    reason="all 2^32 float32 inputs: set SIMDMLP_TEST_EXHAUSTIVE=1 (~10 min per op and ISA)")
@pytest.mark.parametrize("name", NAMES)
def test_float32_exhaustive(name, isa):
    """SPEC: forward within 4 ulp 'for every float32 input (all 2^32 bit patterns)'.
    Forward only, in chunks of 2^24 patterns; backward with dy = 1 on the same inputs."""
    ones = np.ones(1 << 24, dtype=np.float32)
    for start in range(0, 1 << 32, 1 << 24):
        x = np.arange(start, start + (1 << 24), dtype=np.uint64).astype(np.uint32).view(np.float32)
        x = np.where(np.isnan(x), np.float32(np.nan), x)
        check_against_reference(name, x, ones, forward_fn(name)(x), backward_fn(name)(ones, x),
                                what=f"{name} {isa} patterns [{start:#x}, +2^24)")


@pytest.mark.parametrize("name", NAMES)
def test_aligned_head_same_bits(name, isa):
    """Calls of 16 vectors and more whose output is element-aligned but not vector-aligned
    write their first elements with one masked vector, so that the full vectors after them
    are stored within a cache line (NumPy aligns arrays to 16 bytes). Every element must get
    the bits it gets in calls too short for that head, at every element offset from a
    64-byte boundary, forward and backward, in place too."""
    n = 4099
    x = make_inputs(n, np.float32, seed=11)
    dy = make_grads(n, np.float32, seed=11)
    step = 100  # < 16 vectors of any ISA: no head
    want_y = np.concatenate([forward_fn(name)(x[i:i + step]) for i in range(0, n, step)])
    want_dx = np.concatenate([backward_fn(name)(dy[i:i + step], x[i:i + step]) for i in range(0, n, step)])
    buf = np.zeros(n + 32, np.float32)
    first = (-buf.ctypes.data // 4) % 16  # the element on a 64-byte boundary
    for k in range(16):
        out = buf[first + k:first + k + n]
        assert forward_fn(name)(x, out=out) is out
        assert_same_bits(out, want_y, what=f"{name} {isa} forward, output at element {k} of a line")
        assert backward_fn(name)(dy, x, out=out) is out
        assert_same_bits(out, want_dx, what=f"{name} {isa} backward, output at element {k} of a line")
        out[:] = x
        forward_fn(name)(out, out=out)
        assert_same_bits(out, want_y, what=f"{name} {isa} forward in place at element {k} of a line")


@pytest.mark.parametrize("name", ["relu", "sigmoid", "gelu", "softplus"])
@pytest.mark.parametrize("offset", [0, 4, 1])
def test_large_outputs_streamed_same_bits(name, offset, isa):
    """Outputs of 8 MiB and more are written with streaming stores after an aligned head;
    the values must be bit for bit those of small calls, at any output alignment (offset
    in bytes: 4 = element-aligned only, 1 = never aligned), forward and backward, on one
    thread and on all."""
    n = (1 << 21) + 37  # 8 MiB + a tail, float32
    x = make_inputs(n, np.float32, seed=9)
    dy = make_grads(n, np.float32, seed=9)
    step = 1 << 16
    want_y = np.concatenate([forward_fn(name)(x[i:i + step]) for i in range(0, n, step)])
    want_dx = np.concatenate([backward_fn(name)(dy[i:i + step], x[i:i + step]) for i in range(0, n, step)])
    for threads in (1, simdmlp.get_num_threads()):
        simdmlp.set_num_threads(threads)
        out = _misaligned(np.zeros(n, np.float32), offset) if offset else np.zeros(n, np.float32)
        assert forward_fn(name)(x, out=out) is out
        assert_same_bits(out, want_y, what=f"{name} forward, {threads} threads, offset {offset}")
        assert backward_fn(name)(dy, x, out=out) is out
        assert_same_bits(out, want_dx, what=f"{name} backward, {threads} threads, offset {offset}")
