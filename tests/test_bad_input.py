"""Argument handling of every simdmlp.NAME / NAME_backward (SPEC.md "Dtypes, shapes, memory").

Rejected: complex/object/str (and other non-numeric) dtypes -> TypeError naming the function,
the argument and the dtype; bad out= -> TypeError (not an ndarray, wrong dtype) or
ValueError (shape, not C-contiguous, read-only), with out left untouched; backward with
mismatched shapes -> ValueError naming both shapes, mismatched dtypes -> TypeError.
Accepted: float16 (computed in float32, returned float16), ints and bools (as float64),
lists, Python scalars, 0-d and empty arrays, non-native byte order, stride-0 views, in-place
and partially overlapping out=.
"""
from __future__ import annotations

import array

import numpy as np
import pytest

import simdmlp
from conftest import (
    ELEMENTWISE_NAMES,
    FLOAT_DTYPES,
    assert_same_bits,
    backward_fn,
    forward_fn,
    make_grads,
    make_inputs,
)

NAMES = ELEMENTWISE_NAMES
DTYPE_IDS = [np.dtype(d).name for d in FLOAT_DTYPES]

BAD_ARRAYS = {
    "complex64": np.array([1 + 2j, -3j], dtype=np.complex64),
    "complex128": np.array([1 + 2j, -3j], dtype=np.complex128),
    "object": np.array([1.0, 2.0], dtype=object),
    "str": np.array(["1.0", "2.0"]),
    "bytes": np.array([b"1", b"2"]),
    "datetime64": np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]"),
}


def _dtype_named(msg, a):
    dt = a.dtype
    return str(dt) in msg or dt.name in msg


# --------------------------------------------------------------------- bad dtypes
@pytest.mark.parametrize("kind", BAD_ARRAYS)
@pytest.mark.parametrize("name", NAMES)
def test_bad_dtype_forward(name, kind):
    a = BAD_ARRAYS[kind]
    with pytest.raises(TypeError) as ei:
        forward_fn(name)(a)
    msg = str(ei.value)
    assert f"simdmlp.{name}" in msg, msg
    assert _dtype_named(msg, a), f"dtype {a.dtype} not named in: {msg}"


@pytest.mark.parametrize("which", ["grad_output", "x"])
@pytest.mark.parametrize("kind", BAD_ARRAYS)
@pytest.mark.parametrize("name", NAMES)
def test_bad_dtype_backward(name, kind, which):
    bad = BAD_ARRAYS[kind]
    good = np.array([0.5, -1.0])
    args = (bad, good) if which == "grad_output" else (good, bad)
    with pytest.raises(TypeError) as ei:
        backward_fn(name)(*args)
    msg = str(ei.value)
    assert f"simdmlp.{name}_backward" in msg, msg
    assert which in msg, f"argument {which!r} not named in: {msg}"
    assert _dtype_named(msg, bad), f"dtype {bad.dtype} not named in: {msg}"


@pytest.mark.parametrize("name", NAMES)
def test_bad_array_likes(name):
    for bad in ([1 + 1j, 2.0], ["a", "b"], [None, 1.0], 1j):
        with pytest.raises(TypeError, match=f"simdmlp\\.{name}"):
            forward_fn(name)(bad)


# ------------------------------------------------------------------------- bad out=
def _bad_outs(shape, dtype):
    """(label, out, expected exception, words the message must contain)"""
    other = np.float64 if np.dtype(dtype) == np.float32 else np.float32
    n = int(np.prod(shape))
    readonly = np.full(shape, 5.0, dtype)
    readonly.flags.writeable = False
    return [
        ("list", [5.0] * n, TypeError, ["out"]),
        ("tuple", tuple([5.0] * n), TypeError, ["out"]),
        ("wrong dtype", np.full(shape, 5.0, other), TypeError, ["out", np.dtype(other).name, np.dtype(dtype).name]),
        ("float16", np.full(shape, 5.0, np.float16), TypeError, ["out", "float16"]),
        ("int", np.full(shape, 5, np.int64), TypeError, ["out"]),
        ("wrong shape", np.full((n + 1,), 5.0, dtype), ValueError, ["out", str((n + 1,)), str(shape)]),
        ("transposed shape", np.full(shape[::-1], 5.0, dtype), ValueError, ["out", str(shape[::-1]), str(shape)]),
        ("broadcastable", np.full((1,) + shape, 5.0, dtype), ValueError, ["out", "shape"]),
        ("fortran", np.asfortranarray(np.full(shape, 5.0, dtype)), ValueError, ["out", "contiguous"]),
        ("strided", np.full(shape[:-1] + (2 * shape[-1],), 5.0, dtype)[..., ::2], ValueError, ["out", "contiguous"]),
        ("negative stride", np.full(shape, 5.0, dtype)[::-1], ValueError, ["out", "contiguous"]),
        ("read-only", readonly, ValueError, ["out"]),
    ]


OUT_CASES = [c[0] for c in _bad_outs((3, 4), np.float32)]


def _check_bad_out(call, fn_name, shape, dtype, case):
    label, out, exc, words = next(c for c in _bad_outs(shape, dtype) if c[0] == case)
    before = np.array(out, copy=True)
    with pytest.raises(exc) as ei:
        call(out)
    msg = str(ei.value)
    assert fn_name in msg, msg
    for w in words:
        assert w in msg, f"{case}: {w!r} not in message {msg!r}"
    assert np.array_equal(np.asarray(out), before), f"{case}: out was written before the error"


@pytest.mark.parametrize("case", OUT_CASES)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_bad_out_forward(name, dtype, case):
    x = make_inputs(12, dtype, seed=9).reshape(3, 4)
    _check_bad_out(lambda out: forward_fn(name)(x, out=out), f"simdmlp.{name}", (3, 4), dtype, case)


@pytest.mark.parametrize("case", OUT_CASES)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_bad_out_backward(name, dtype, case):
    x = make_inputs(12, dtype, seed=9).reshape(3, 4)
    dy = make_grads(12, dtype, seed=9).reshape(3, 4)
    _check_bad_out(lambda out: backward_fn(name)(dy, x, out=out), f"simdmlp.{name}_backward", (3, 4), dtype, case)


@pytest.mark.parametrize("name", NAMES)
def test_out_dtype_follows_result_dtype(name):
    """out must have the *result's* dtype: float64 for ints, float16 for float16."""
    ints = np.arange(-3, 3)
    out32 = np.full(6, 5.0, np.float32)
    with pytest.raises(TypeError, match="out"):
        forward_fn(name)(ints, out=out32)
    assert (out32 == 5).all()
    out64 = np.empty(6)
    assert forward_fn(name)(ints, out=out64) is out64
    np.testing.assert_array_equal(out64, forward_fn(name)(ints.astype(np.float64)))

    h = np.linspace(-2, 2, 6).astype(np.float16)
    with pytest.raises(TypeError, match="out"):
        forward_fn(name)(h, out=np.empty(6, np.float32))
    out16 = np.empty(6, np.float16)
    assert forward_fn(name)(h, out=out16) is out16
    assert_same_bits(out16, forward_fn(name)(h.astype(np.float32)).astype(np.float16), what=f"{name} float16 out")


def test_out_is_keyword_only():
    x = np.ones(3)
    with pytest.raises(TypeError):
        simdmlp.relu(x, np.empty(3))


# ---------------------------------------------------------------- backward mismatches
@pytest.mark.parametrize(("gshape", "xshape"), [((3, 4), (4, 3)), ((5,), (6,)), ((1,), (5,)), ((2, 3), (6,)), ((), (1,))])
@pytest.mark.parametrize("name", NAMES)
def test_backward_shape_mismatch(name, gshape, xshape):
    dy = np.ones(gshape)
    x = np.ones(xshape)
    out = np.full(xshape, 5.0)
    with pytest.raises(ValueError) as ei:
        backward_fn(name)(dy, x, out=out)
    msg = str(ei.value)
    assert f"simdmlp.{name}_backward" in msg, msg
    assert str(gshape) in msg and str(xshape) in msg, f"shapes {gshape}, {xshape} not both in: {msg}"
    assert (out == 5).all(), "out was written before the error"


@pytest.mark.parametrize(("gdt", "xdt"), [(np.float32, np.float64), (np.float64, np.float32),
                                          (np.float16, np.float32), (np.float32, np.float16)])
@pytest.mark.parametrize("name", NAMES)
def test_backward_dtype_mismatch(name, gdt, xdt):
    dy = np.ones(4, gdt)
    x = np.ones(4, xdt)
    with pytest.raises(TypeError) as ei:
        backward_fn(name)(dy, x)
    msg = str(ei.value)
    assert f"simdmlp.{name}_backward" in msg, msg
    assert np.dtype(gdt).name in msg and np.dtype(xdt).name in msg, msg


# ------------------------------------------------------------------ accepted inputs
@pytest.mark.parametrize("name", NAMES)
def test_float16_computed_in_float32(name, isa):
    x = make_inputs(37, np.float16, seed=10)
    x = np.concatenate([x, np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 65504, -65504, 6e-8], np.float16)])
    dy = make_grads(x.size, np.float16, seed=10)
    y = forward_fn(name)(x)
    assert y.dtype == np.float16
    with np.errstate(over="ignore"):  # a result beyond 65504 rounds to inf
        expected = forward_fn(name)(x.astype(np.float32)).astype(np.float16)
    assert_same_bits(y, expected, what=f"{name} float16")
    dx = backward_fn(name)(dy, x)
    assert dx.dtype == np.float16
    with np.errstate(over="ignore"):
        expected = backward_fn(name)(dy.astype(np.float32), x.astype(np.float32)).astype(np.float16)
    assert_same_bits(dx, expected, what=f"{name}_backward float16")
    xi = x.copy()
    assert forward_fn(name)(xi, out=xi) is xi
    assert_same_bits(xi, y, what=f"{name} float16 in place")


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint64, np.bool_])
@pytest.mark.parametrize("name", NAMES)
def test_int_and_bool_become_float64(name, dtype):
    raw = np.array([-3, -1, 0, 1, 2, 100, 7, 0, 1, 5, 3])
    x = raw.astype(dtype) if dtype is not np.bool_ else raw > 0
    if np.dtype(dtype).kind == "u":
        x = np.abs(raw).astype(dtype)
    y = forward_fn(name)(x)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, forward_fn(name)(x.astype(np.float64)))
    dx = backward_fn(name)(x, x)
    assert dx.dtype == np.float64
    np.testing.assert_array_equal(dx, backward_fn(name)(x.astype(np.float64), x.astype(np.float64)))
    assert np.isfinite(y).all()


@pytest.mark.parametrize("name", NAMES)
def test_lists_and_scalars(name):
    fwd, bwd = forward_fn(name), backward_fn(name)
    for obj in ([-1.5, 0.0, 2.0], [[1, -2], [3, 4]], [True, False], [], [[]]):
        y = fwd(obj)
        ref = fwd(np.asarray(obj, dtype=np.float64))
        assert isinstance(y, np.ndarray) and y.dtype == np.float64 and y.shape == np.shape(obj)
        np.testing.assert_array_equal(y, ref)
        dx = bwd(obj, obj)
        assert dx.dtype == np.float64 and dx.shape == np.shape(obj)
        np.testing.assert_array_equal(dx, bwd(np.asarray(obj, np.float64), np.asarray(obj, np.float64)))
    for scalar in (-2.5, 0.0, 3, True, np.float64(1.25), np.int32(-4)):
        y = fwd(scalar)
        assert np.shape(y) == () and np.asarray(y).dtype == np.float64, (scalar, y)
        assert_same_bits(np.asarray(y), fwd(np.array(scalar, dtype=np.float64)), what=f"{name}({scalar!r})")
        assert np.shape(bwd(scalar, scalar)) == ()
    y32 = fwd(np.float32(-0.75))
    assert np.asarray(y32).dtype == np.float32 and np.shape(y32) == ()
    # buffer-protocol objects, as np.asarray takes them
    for obj, dtype in ((memoryview(np.array([-1.5, 2.0], np.float32)), np.float32),
                       (array.array("d", [-1.5, 2.0]), np.float64)):
        y = fwd(obj)
        assert y.dtype == dtype
        assert_same_bits(y, fwd(np.asarray(obj)), what=f"{name}({type(obj).__name__})")


@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (0, 5, 2), (1, 1, 1)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64])
@pytest.mark.parametrize("name", NAMES)
def test_zero_d_and_empty(name, dtype, shape):
    x = np.full(shape, 2, dtype=dtype)
    result_dtype = np.float64 if np.dtype(dtype).kind == "i" else np.dtype(dtype)
    y = forward_fn(name)(x)
    assert np.shape(y) == shape and np.asarray(y).dtype == result_dtype
    np.testing.assert_array_equal(y, forward_fn(name)(np.full((1,), 2, dtype))[0] * np.ones(shape))
    dx = backward_fn(name)(x, x)
    assert np.shape(dx) == shape and np.asarray(dx).dtype == result_dtype
    out = np.empty(shape, result_dtype)
    assert forward_fn(name)(x, out=out) is out
    assert backward_fn(name)(x, x, out=out) is out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_non_native_byte_order(name, dtype):
    x = make_inputs(33, dtype, seed=11)
    dy = make_grads(33, dtype, seed=11)
    xs, dys = x.astype(x.dtype.newbyteorder(">")), dy.astype(dy.dtype.newbyteorder(">"))
    y = forward_fn(name)(xs)
    assert y.dtype == np.dtype(dtype)  # native result
    assert_same_bits(y, forward_fn(name)(x), what=f"{name} big-endian input")
    assert_same_bits(backward_fn(name)(dys, xs), backward_fn(name)(dy, x), what=f"{name}_backward big-endian")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_stride_zero_broadcast_view(name, dtype):
    x = np.broadcast_to(np.array([-1.5, 0.5, 2.0], dtype), (4, 3))
    dy = np.broadcast_to(np.array(0.75, dtype), (4, 3))
    assert_same_bits(forward_fn(name)(x), forward_fn(name)(np.ascontiguousarray(x)), what="broadcast x")
    assert_same_bits(backward_fn(name)(dy, x), backward_fn(name)(np.ascontiguousarray(dy), np.ascontiguousarray(x)),
                     what="broadcast dy, x")


# --------------------------------------------------------------- in place, overlap
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_backward_in_place_on_x(name, dtype):
    x = make_inputs(101, dtype, seed=12)
    dy = make_grads(101, dtype, seed=12)
    expected = backward_fn(name)(dy, x)
    xi = x.copy()
    assert backward_fn(name)(dy, xi, out=xi) is xi
    assert_same_bits(xi, expected, what=f"{name}_backward out=x")
    both = x.copy()
    expected_both = backward_fn(name)(x, x)
    assert backward_fn(name)(both, both, out=both) is both
    assert_same_bits(both, expected_both, what=f"{name}_backward(x, x, out=x)")


@pytest.mark.parametrize("shift", [1, 2, 7, -1, -3, -8])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_partial_overlap(name, dtype, shift):
    """out overlapping x (or grad_output) without being it: still the right answer."""
    n = 67
    x = make_inputs(n, dtype, seed=13)
    dy = make_grads(n, dtype, seed=13)
    want_y, want_dx = forward_fn(name)(x), backward_fn(name)(dy, x)
    k = abs(shift)
    a = np.zeros(n + k, dtype)
    xv, outv = (a[k:], a[:-k]) if shift > 0 else (a[:-k], a[k:])
    xv[...] = x
    assert forward_fn(name)(xv, out=outv) is outv
    assert_same_bits(outv, want_y, what=f"{name} overlap shift {shift}")
    # backward: out overlapping x, then out overlapping grad_output
    xv[...] = x
    assert backward_fn(name)(dy, xv, out=outv) is outv
    assert_same_bits(outv, want_dx, what=f"{name}_backward out overlapping x, shift {shift}")
    xv[...] = dy
    assert backward_fn(name)(xv, x, out=outv) is outv
    assert_same_bits(outv, want_dx, what=f"{name}_backward out overlapping grad_output, shift {shift}")


@pytest.mark.parametrize("name", NAMES)
def test_out_overlapping_non_contiguous_input(name):
    """x a strided view over the out buffer itself."""
    a = np.linspace(-4, 4, 40)
    x = a[::2]
    want = forward_fn(name)(x.copy())
    out = a[:20]
    assert forward_fn(name)(x, out=out) is out
    assert_same_bits(out, want, what=f"{name} strided x over out")
    a = np.linspace(-4, 4, 40)
    x = a[::-1][:20]  # the memory of out, reversed
    want = forward_fn(name)(x.copy())
    out = a[20:]
    assert forward_fn(name)(x, out=out) is out
    assert_same_bits(out, want, what=f"{name} reversed x over out")


@pytest.mark.parametrize("name", NAMES)
def test_result_is_new_array(name):
    x = np.linspace(-2, 2, 9)
    y = forward_fn(name)(x)
    assert not np.shares_memory(y, x)
    dy = np.ones(9)
    dx = backward_fn(name)(dy, x)
    assert not np.shares_memory(dx, x) and not np.shares_memory(dx, dy)
