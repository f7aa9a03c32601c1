"""simdmlp.matmul and simdmlp.PackedWeights: our own packed GEMM against a higher-precision
NumPy reference, on every ISA, for shapes around every micro-kernel and blocking edge, for
contiguous, transposed, strided, negative-stride and misaligned operands.

Error bound (SPEC "Matrix multiply and dense layer"; the usual GEMM form), with C_BOUND
fixed here and never tuned per case:
    |got - a@b| <= C_BOUND * max(K, 1) * eps * (|a| @ |b|)
Every element is one chain of K multiply-adds (K roundings with FMA, 2K on the scalar
ISA, whose bound is K*eps with eps = 2u), so C_BOUND = 1 holds in theory; 2 leaves room
for the reference's own rounding.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

import simdmlp
from simdmlp import _core

C_BOUND = 2.0
ISAS = tuple(simdmlp.available_isas())
DTYPES = (np.float32, np.float64)


@pytest.fixture(params=ISAS)
def gemm_isa(request):
    with simdmlp.use_isa(request.param):
        yield request.param


@pytest.fixture(autouse=True)
def _restore_threads():
    before = simdmlp.get_num_threads()
    yield
    simdmlp.set_num_threads(before)


def exact_product(a, b):
    """a @ b in more precision than the inputs (float64 for float32, long double for
    float64; long double is wider than double on x86-64 and aarch64)."""
    wide = np.float64 if a.dtype == np.float32 else np.longdouble
    return np.matmul(a.astype(wide), b.astype(wide))


def assert_gemm_close(got, a, b, bias=None, what=""):
    dtype = a.dtype
    assert got.dtype == dtype, (what, got.dtype, dtype)
    K = a.shape[1]
    exact = exact_product(a, b)
    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
    if bias is not None:
        exact = exact + bias.astype(exact.dtype)
        scale = scale + np.abs(bias).astype(np.float64)
    eps = float(np.finfo(dtype).eps)
    bound = C_BOUND * max(K + (bias is not None), 1) * eps * scale
    err = np.abs(got.astype(exact.dtype) - exact).astype(np.float64)
    bad = ~(err <= bound)
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, err - bound, -np.inf)), err.shape)
        pytest.fail(f"{what}: {int(bad.sum())} of {err.size} elements outside C*K*eps*|a||b| "
                    f"(worst at {i}: got {got[i]!r}, exact {float(exact[i])!r}, bound {bound[i]:.3g})")


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def layouts(x, rng):
    """The same matrix through different memory layouts (all views, no copies)."""
    dtype = x.dtype
    M, N = x.shape
    yield "contiguous", x
    yield "fortran", np.asfortranarray(x)  # a transposed read: unit row stride
    yield "transposed", np.ascontiguousarray(x.T).T
    big = np.zeros((2 * M + 1, 3 * N + 2), dtype)
    big[1::2, 2::3] = x
    yield "strided", big[1::2, 2::3]
    rev = np.ascontiguousarray(x[::-1, ::-1])
    yield "negative", rev[::-1, ::-1]
    # rows apart or reversed with contiguous rows (unit column stride, like contiguous)
    wide = np.zeros((2 * M, N + 3), dtype)
    wide[::2, 1:N + 1] = x
    yield "row-strided", wide[::2, 1:N + 1]
    rows_rev = np.ascontiguousarray(x[::-1])
    yield "reversed rows", rows_rev[::-1]
    buf = np.zeros(M * N + 1, dtype)
    mis = buf[1:].reshape(M, N)  # misaligned start
    mis[...] = x
    yield "misaligned", mis


# Shapes around every edge: the micro-kernel (MR = 4 or 6 rows; NR = 4, 8, 16, 32, 64
# columns), the small-batch path (M <= 16 on AVX-512 and NEON, 12 on AVX2, 8 on scalar; in
# sweeps of up to 8 rows), K blocks (KC = 384) and M blocks (MC = 144).
EDGE_SHAPES = [
    (1, 1, 1), (1, 7, 1), (2, 3, 5), (5, 1, 64), (6, 2, 16), (7, 9, 65), (8, 64, 63),
    (9, 17, 129), (12, 5, 4), (13, 31, 33), (1, 384, 100), (3, 385, 31), (6, 769, 70),
    (11, 383, 8), (12, 70, 17), (13, 9, 100), (16, 385, 70), (17, 64, 65), (143, 7, 3), (144, 40, 17), (145, 33, 65),
    (29, 97, 257), (64, 64, 64), (37, 400, 61), (150, 390, 130),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", EDGE_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_edges(gemm_isa, dtype, shape):
    M, K, N = shape
    rng = np.random.default_rng([M, K, N])
    a, b = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype)
    got = simdmlp.matmul(a, b)
    assert got.shape == (M, N) and got.flags.c_contiguous
    assert_gemm_close(got, a, b, what=f"{gemm_isa} {shape}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_random_shapes(gemm_isa, dtype):
    rng = np.random.default_rng(7)
    for _ in range(12):
        M, K, N = (int(v) for v in rng.integers(1, 200, 3))
        a, b = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype)
        assert_gemm_close(simdmlp.matmul(a, b), a, b, what=f"{gemm_isa} {(M, K, N)}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 70, 45), (40, 130, 70)], ids=["small", "big"])
def test_layouts_read_in_place_bitwise(gemm_isa, dtype, shape):
    """Every layout gives the contiguous result bit for bit (packing absorbs strides)."""
    M, K, N = shape
    rng = np.random.default_rng(11)
    a, b = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype)
    want = simdmlp.matmul(a, b)
    assert_gemm_close(want, a, b)
    for (na, va) in layouts(a, rng):
        for (nb, vb) in layouts(b, rng):
            got = simdmlp.matmul(va, vb)
            assert np.array_equal(got.view(np.uint8), want.view(np.uint8)), (na, nb)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pipelined_b_bitwise(gemm_isa, dtype):
    """Batches of 17..144 rows with a row-major B: on AVX-512 no packing pass, B's panels
    copied by the tiles of the panel before (gemm.cpp, BlockArgs::pipe). Across K blocks,
    N blocks and partial panels, for every layout of B with unit column stride, 1 and 2
    threads, bit for bit the rows of a 300-row product (which packs B in blocks) and the
    pre-packed result (whose tiles prefetch the next panel instead)."""
    rng = np.random.default_rng(21)
    for K, N in [(385, 600), (800, 130), (383, 1100), (1000, 64), (70, 577)]:
        a, b = rand(rng, (300, K), dtype), rand(rng, (K, N), dtype)
        want = simdmlp.matmul(a, b)
        assert_gemm_close(want, a, b, what=f"{gemm_isa} 300x{K}x{N}")
        views = {name: v for name, v in layouts(b, rng) if v.strides[1] == v.itemsize}
        views["packed"] = simdmlp.PackedWeights(b)
        for t in (1, 2):
            simdmlp.set_num_threads(t)
            for lo, hi in [(0, 17), (17, 57), (100, 244), (156, 300)]:
                for name, v in views.items():
                    got = simdmlp.matmul(a[lo:hi], v)
                    assert np.array_equal(got.view(np.uint8), want[lo:hi].view(np.uint8)), (K, N, lo, hi, name, t)


def test_zero_stride_operand(gemm_isa):
    row = np.arange(5.0)
    a = np.broadcast_to(row, (4, 5))  # rows share memory (stride 0)
    b = np.random.default_rng(0).standard_normal((5, 3))
    assert_gemm_close(simdmlp.matmul(a, b), np.ascontiguousarray(a), b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0, 5, 3), (4, 5, 0), (0, 0, 0), (4, 0, 3), (1, 0, 70)])
def test_empty(gemm_isa, dtype, shape):
    M, K, N = shape
    a, b = np.ones((M, K), dtype), np.ones((K, N), dtype)
    got = simdmlp.matmul(a, b)
    assert got.shape == (M, N) and got.dtype == dtype
    assert np.array_equal(got, np.zeros((M, N), dtype))  # K = 0: the empty sum


def test_deterministic_across_threads_batch_and_blocking(gemm_isa):
    """Bitwise the same for any thread count, for any batch slice (the small-batch path
    and the packed path compute the same chains) and with pre-packed weights."""
    rng = np.random.default_rng(3)
    for dtype in DTYPES:
        a, b = rand(rng, (301, 777), dtype), rand(rng, (777, 203), dtype)
        simdmlp.set_num_threads(1)
        want = simdmlp.matmul(a, b)
        for t in (2, 3, 4):
            simdmlp.set_num_threads(t)
            assert np.array_equal(simdmlp.matmul(a, b), want), t
        pw = simdmlp.PackedWeights(b)
        assert np.array_equal(simdmlp.matmul(a, pw), want)
        bt = np.ascontiguousarray(b.T).T  # a transposed view (W^T in grad_x): its own small path
        for lo, hi in [(0, 1), (5, 8), (6, 13), (20, 29), (30, 46), (50, 67), (100, 300)]:
            assert np.array_equal(simdmlp.matmul(a[lo:hi], b), want[lo:hi]), (lo, hi)
            assert np.array_equal(simdmlp.matmul(a[lo:hi], pw), want[lo:hi]), (lo, hi)
            assert np.array_equal(simdmlp.matmul(a[lo:hi], bt), want[lo:hi]), (lo, hi, "transposed")


def test_out(gemm_isa):
    rng = np.random.default_rng(5)
    a, b = rand(rng, (20, 30), np.float32), rand(rng, (30, 10), np.float32)
    out = np.full((20, 10), np.nan, np.float32)
    r = simdmlp.matmul(a, b, out=out)
    assert r is out
    assert np.array_equal(out, simdmlp.matmul(a, b))


def test_out_aliasing_input(gemm_isa):
    """out may be an operand: the operand is read before anything is written."""
    rng = np.random.default_rng(6)
    for n in (5, 70):
        a, b = rand(rng, (n, n), np.float64), rand(rng, (n, n), np.float64)
        want = simdmlp.matmul(a, b)
        a2, b2 = a.copy(), b.copy()
        simdmlp.matmul(a2, b2, out=a2)
        assert np.array_equal(a2, want)
        a2, b2 = a.copy(), b.copy()
        simdmlp.matmul(a2, b2, out=b2)
        assert np.array_equal(b2, want)
        a2 = a.copy()
        simdmlp.matmul(a2, a2.T, out=a2)  # overlapping through a transposed view
        assert np.array_equal(a2, simdmlp.matmul(a, a.T))


def test_dtypes_conversion():
    a = np.arange(6).reshape(2, 3)
    b = np.arange(12).reshape(3, 4)
    got = simdmlp.matmul(a, b)  # ints -> float64
    assert got.dtype == np.float64 and np.array_equal(got, (a @ b).astype(np.float64))
    got = simdmlp.matmul([[1.0, 2.0]], [[3.0], [4.0]])
    assert got.dtype == np.float64 and got[0, 0] == 11.0
    h = simdmlp.matmul(a.astype(np.float16), b.astype(np.float16))
    assert h.dtype == np.float16 and np.array_equal(h, (a @ b).astype(np.float16))


def test_errors():
    f32 = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        simdmlp.matmul(f32, np.ones((4, 5), np.float32))
    with pytest.raises(TypeError, match="float32.*float64"):
        simdmlp.matmul(f32, np.ones((3, 5), np.float64))
    with pytest.raises(TypeError, match="complex"):
        simdmlp.matmul(f32.astype(np.complex64), f32.T)
    with pytest.raises(ValueError, match="2-d"):
        simdmlp.matmul(np.ones(3, np.float32), np.ones((3, 2), np.float32))
    b = np.ones((3, 4), np.float32)
    for bad, exc in [(np.ones((2, 5), np.float32), ValueError), (np.ones((2, 4), np.float64), TypeError),
                     (np.ones((4, 2), np.float32).T, ValueError), ([[0.0] * 4] * 2, TypeError)]:
        with pytest.raises(exc):
            simdmlp.matmul(f32, b, out=bad)
    ro = np.ones((2, 4), np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        simdmlp.matmul(f32, b, out=ro)


def test_python_threads_at_once():
    """The GIL is released and scratch is per thread: concurrent calls are all right."""
    rng = np.random.default_rng(8)
    a, b = rand(rng, (200, 300), np.float32), rand(rng, (300, 150), np.float32)
    want = simdmlp.matmul(a, b)
    pw = simdmlp.PackedWeights(b)
    results = []

    def work():
        for _ in range(5):
            results.append(np.array_equal(simdmlp.matmul(a, b), want))
            results.append(np.array_equal(simdmlp.matmul(a[:3], pw), want[:3]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40 and all(results)


# ---------------------------------------------------------------- packed weights
def test_packed_weights_snapshot_never_stale(gemm_isa):
    """A PackedWeights is a snapshot: writing to the source array afterwards never leaks
    into it (no mixture of old and new weights), the plain-array path always sees the
    current values, and update() takes the new ones."""
    rng = np.random.default_rng(9)
    for M in (1, 5, 40):
        W = rand(rng, (90, 70), np.float32)
        x = rand(rng, (M, 90), np.float32)
        old = W.copy()
        pw = simdmlp.PackedWeights(W)
        assert pw.shape == (90, 70) and pw.dtype == np.float32
        assert np.array_equal(simdmlp.matmul(x, pw), simdmlp.matmul(x, old))
        W += 1.0  # in place, as an optimizer step does
        W[3, 5] = 100.0
        assert np.array_equal(simdmlp.matmul(x, W), simdmlp.matmul(x, W.copy()))
        assert not np.array_equal(simdmlp.matmul(x, W), simdmlp.matmul(x, old))
        assert np.array_equal(simdmlp.matmul(x, pw), simdmlp.matmul(x, old))  # the snapshot
        pw.update(W)
        assert np.array_equal(simdmlp.matmul(x, pw), simdmlp.matmul(x, W))
        assert not pw.W.flags.writeable


def test_packed_weights_follow_isa_switch():
    rng = np.random.default_rng(10)
    W, x = rand(rng, (50, 80), np.float64), rand(rng, (7, 50), np.float64)
    pw = simdmlp.PackedWeights(W)  # packed for the current ISA
    for isa in ISAS:
        with simdmlp.use_isa(isa):
            assert np.array_equal(simdmlp.matmul(x, pw), simdmlp.matmul(x, W)), isa


def test_packed_weights_errors():
    pw = simdmlp.PackedWeights(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"\(2, 5\).*\(3, 4\)"):
        simdmlp.matmul(np.ones((2, 5), np.float32), pw)
    with pytest.raises(TypeError):
        simdmlp.matmul(np.ones((2, 3), np.float64), pw)
    with pytest.raises(TypeError):
        simdmlp.matmul(pw, np.ones((4, 2), np.float32))
    with pytest.raises(ValueError):
        simdmlp.PackedWeights(np.ones(3))
    assert "PackedWeights" in repr(pw)


def test_fma_peak_probe():
    for isa in ISAS:
        secs, flops = _core._fma_peak(isa, False, 1, 1000)
        assert secs > 0 and flops > 0
