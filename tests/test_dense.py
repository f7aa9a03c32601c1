"""simdmlp.dense, dense_forward and dense_backward: the fused dense layer on every ISA,
with and without bias, with every activation in simdmlp.ACTIVATIONS in the epilogue.

What is checked, and why it is enough:
* z = x @ W + b within the GEMM bound of test_gemm.py (C_BOUND * (K+1) * eps * (|x||W| + |b|)).
* y is bit for bit simdmlp.NAME(z): the fused epilogue runs the very same activation
  kernels, so its accuracy is the activation's own (tested in test_activations.py).
* backward: grad_z = simdmlp.NAME_backward(grad_y, z) bit for bit (through grad_x and
  grad_W, which are then within the GEMM bound of grad_z @ W^T and x^T @ grad_z), and
  grad_b within the bound of a sum of M terms.
* the whole layer against simdmlp.reference.dense_* in float64 as an end-to-end check.
"""
from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest

import simdmlp
from simdmlp import reference
from test_gemm import C_BOUND, assert_gemm_close

ISAS = tuple(simdmlp.available_isas())
DTYPES = (np.float32, np.float64)

PARAMS = {  # non-default parameters, to see that they reach the epilogue
    "leaky_relu": {"negative_slope": 0.2},
    "hardtanh": {"min_val": -0.5, "max_val": 2.0},
    "elu": {"alpha": 0.7},
    "celu": {"alpha": 1.3},
    "swish": {"beta": 1.7},
    "softplus": {"beta": 2.0},
    "gelu": {"approximate": "tanh"},
    "prelu": {"weight": 0.1},
    "softmax": {"axis": -1},
}


@pytest.fixture(params=ISAS)
def dense_isa(request):
    with simdmlp.use_isa(request.param):
        yield request.param


def layer(rng, dtype, M=13, K=37, N=70, scale=0.3):
    x = rng.standard_normal((M, K)).astype(dtype)
    W = (scale * rng.standard_normal((K, N))).astype(dtype)
    b = rng.standard_normal(N).astype(dtype)
    return x, W, b


def act_fwd(name, z, params):
    return getattr(simdmlp, name)(z, **params)


def act_bwd(name, gy, z, params):
    g = getattr(simdmlp, name + "_backward")(gy, z, **params)
    return g[0] if name == "prelu" else g


def same_bits(a, b, what):
    assert a.dtype == b.dtype and a.shape == b.shape, what
    assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), what


def column_sum_close(got, gz, what):
    M = gz.shape[0]
    exact = gz.astype(np.longdouble).sum(axis=0)
    bound = C_BOUND * max(M, 1) * np.finfo(gz.dtype).eps * np.abs(gz).astype(np.float64).sum(axis=0)
    err = np.abs(got.astype(np.longdouble) - exact).astype(np.float64)
    assert (err <= bound).all(), what


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("name", [None, *simdmlp.ACTIVATIONS])
def test_every_activation(dense_isa, name, bias, dtype):
    rng = np.random.default_rng([len(name or ""), bias, np.dtype(dtype).itemsize])
    params = PARAMS.get(name, {}) if name else {}
    for M in (3, 13):  # the small-batch path and the packed path
        x, W, b = layer(rng, dtype, M=M)
        bb = b if bias else None
        what = f"{dense_isa} {name} {dtype.__name__} M={M} bias={bias}"
        y, z = simdmlp.dense_forward(x, W, bb, name, **params)
        assert_gemm_close(z, x, W, bb, what=what + " z")
        if name is None:
            assert y is z
        else:
            same_bits(y, act_fwd(name, z, params), what + " y = act(z)")
        same_bits(simdmlp.dense(x, W, bb, name, **params), y, what + " dense")

        gy = rng.standard_normal(y.shape).astype(dtype)
        gx, gw, gb = simdmlp.dense_backward(gy, x, W, z, name, has_bias=bias, **params)
        gz = gy if name is None else act_bwd(name, gy, z, params)
        assert_gemm_close(gx, gz, W.T, what=what + " grad_x")
        assert_gemm_close(gw, x.T, gz, what=what + " grad_W")
        same_bits(gx, simdmlp.matmul(gz, W.T), what + " grad_x = grad_z W^T")
        same_bits(gw, simdmlp.matmul(x.T, gz), what + " grad_W = x^T grad_z")
        if bias:
            column_sum_close(gb, gz, what + " grad_b")
        else:
            assert gb is None


@pytest.mark.parametrize("name", ["relu", "gelu", "tanh", "softmax", None])
def test_against_reference_float64(name):
    rng = np.random.default_rng(1)
    x, W, b = layer(rng, np.float64, M=21, K=45, N=33)
    y, z = simdmlp.dense_forward(x, W, b, name)
    yr, zr = reference.dense_forward(x, W, b, name)
    np.testing.assert_allclose(z, zr, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(y, yr, rtol=1e-13, atol=1e-13)
    gy = rng.standard_normal(y.shape)
    for got, want in zip(simdmlp.dense_backward(gy, x, W, z, name), reference.dense_backward(gy, x, W, zr, name)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_edges_and_layouts(dense_isa, dtype):
    """Odd shapes around the tiles, transposed / strided operands, K = 0 and empty dims."""
    rng = np.random.default_rng(2)
    for (M, K, N) in [(1, 1, 1), (7, 385, 65), (9, 3, 129), (150, 20, 17)]:
        x, W, b = layer(rng, dtype, M, K, N)
        want = simdmlp.dense(x, W, b, "sigmoid")
        xf, Wt = np.asfortranarray(x), np.ascontiguousarray(W.T).T
        same_bits(simdmlp.dense(xf, Wt, b, "sigmoid"), want, f"{(M, K, N)} layouts")
        same_bits(simdmlp.dense(x[::-1], W[:, ::-1], b[::-1], "sigmoid"), want[::-1, ::-1].copy(), "negative")
        gy = rng.standard_normal((M, N)).astype(dtype)
        y, z = simdmlp.dense_forward(x, W, b, "sigmoid")
        g1 = simdmlp.dense_backward(gy, x, W, z, "sigmoid")
        g2 = simdmlp.dense_backward(np.asfortranarray(gy), xf, Wt, np.asfortranarray(z), "sigmoid")
        for a, c in zip(g1, g2):
            same_bits(a, c, f"{(M, K, N)} backward layouts")
    # K = 0: z = b, y = act(b) on every row
    x, W, b = np.ones((4, 0), dtype), np.ones((0, 5), dtype), np.arange(5, dtype=dtype) - 2
    y, z = simdmlp.dense_forward(x, W, b, "relu")
    assert np.array_equal(z, np.tile(b, (4, 1))) and np.array_equal(y, np.maximum(z, 0))
    gx, gw, gb = simdmlp.dense_backward(np.ones((4, 5), dtype), x, W, z, "relu")
    assert gx.shape == (4, 0) and gw.shape == (0, 5) and np.array_equal(gb, 4.0 * (b > 0))
    # M = 0: nothing to compute; grad_W and grad_b are zeros
    x, W = np.ones((0, 3), dtype), np.ones((3, 5), dtype)
    y, z = simdmlp.dense_forward(x, W, np.ones(5, dtype), "tanh")
    assert y.shape == (0, 5)
    gx, gw, gb = simdmlp.dense_backward(np.ones((0, 5), dtype), x, W, z, "tanh")
    assert gx.shape == (0, 3) and np.array_equal(gw, np.zeros((3, 5), dtype)) and np.array_equal(gb, np.zeros(5, dtype))


def test_out():
    rng = np.random.default_rng(3)
    x, W, b = layer(rng, np.float32)
    out = np.empty((13, 70), np.float32)
    assert simdmlp.dense(x, W, b, "gelu", out=out) is out
    same_bits(out, simdmlp.dense(x, W, b, "gelu"), "out=")
    sq = rng.standard_normal((16, 16)).astype(np.float32)
    want = simdmlp.dense(sq, sq, sq[0], "relu")
    simdmlp.dense(sq, sq, sq[0], "relu", out=sq)  # out aliasing x, W and b
    same_bits(sq, want, "in place")
    with pytest.raises(ValueError):
        simdmlp.dense(x, W, b, out=np.empty((70, 13), np.float32))


@pytest.mark.parametrize("act", [None, "relu", "gelu", "softmax"])
def test_forward_backward_out(dense_isa, act):
    """out=(y, z) and out=(grad_x, grad_W, grad_b) return those arrays, bit for bit what
    the allocating calls give; entries may be None; inputs aliasing outputs still work."""
    rng = np.random.default_rng(5)
    x, W, b = layer(rng, np.float32, M=9, K=9, N=9)
    y, z = simdmlp.dense_forward(x, W, b, act)
    yo, zo = np.full_like(y, np.nan), np.full_like(z, np.nan)
    r = simdmlp.dense_forward(x, W, b, act, out=(yo, zo if act else None))
    assert r[0] is yo and (r[1] is zo if act else r[1] is yo)
    same_bits(yo, y, "y out=")
    if act:
        same_bits(zo, z, "z out=")
        r = simdmlp.dense_forward(x, W, b, act, out=[None, zo])
        assert r[1] is zo
        same_bits(r[0], y, "y allocated beside z out=")
    gy = rng.standard_normal(y.shape).astype(np.float32)
    want = simdmlp.dense_backward(gy, x, W, z, act)
    outs = tuple(np.full_like(a, np.nan) for a in want)
    got = simdmlp.dense_backward(gy, x, W, z, act, out=outs)
    for g, o, w, nm in zip(got, outs, want, ("grad_x", "grad_W", "grad_b")):
        assert g is o
        same_bits(g, w, f"{nm} out=")
    got = simdmlp.dense_backward(gy, x, W, z, act, out=(None, outs[1], None))
    assert got[1] is outs[1]
    same_bits(got[0], want[0], "grad_x allocated beside grad_W out=")
    got = simdmlp.dense_backward(gy, x, W, z, act, need_grad_x=False)
    assert got[0] is None
    same_bits(got[1], want[1], "grad_W without grad_x")
    same_bits(got[2], want[2], "grad_b without grad_x")
    # outputs aliasing inputs (square layer): the inputs are read as they were
    xs, gys, zs = x.copy(), gy.copy(), z.copy()
    got = simdmlp.dense_backward(gys, xs, W, zs, act, out=(xs, gys, None))
    same_bits(got[0], want[0], "grad_x into x")
    same_bits(got[1], want[1], "grad_W into grad_y")


def test_forward_backward_out_errors():
    x, W, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32), np.ones(4, np.float32)
    y = np.empty((2, 4), np.float32)
    with pytest.raises(TypeError, match=r"dense_forward: out must be None or a tuple \(y, z\)"):
        simdmlp.dense_forward(x, W, b, "relu", out=y)
    with pytest.raises(TypeError, match="length 3"):
        simdmlp.dense_forward(x, W, b, "relu", out=(y, None, None))
    with pytest.raises(ValueError, match=r"out\[0\] and out\[1\] share memory"):
        simdmlp.dense_forward(x, W, b, "relu", out=(y, y))
    with pytest.raises(ValueError, match=r"out\[1\] must be None or out\[0\]"):
        simdmlp.dense_forward(x, W, b, None, out=(y, np.empty_like(y)))
    with pytest.raises(TypeError, match=r"out\[1\] has dtype float64"):
        simdmlp.dense_forward(x, W, b, "relu", out=(y, np.empty((2, 4))))
    gy = np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match=r"out\[2\] has shape \(3,\)"):
        simdmlp.dense_backward(gy, x, W, y, "relu", out=(None, None, np.empty(3, np.float32)))
    with pytest.raises(ValueError, match=r"out\[2\] \(grad_b\) must be None"):
        simdmlp.dense_backward(gy, x, W, y, "relu", has_bias=False, out=(None, None, np.empty(4, np.float32)))
    with pytest.raises(ValueError, match=r"out\[0\] \(grad_x\) must be None when need_grad_x"):
        simdmlp.dense_backward(gy, x, W, y, "relu", need_grad_x=False, out=(np.empty((2, 3), np.float32), None, None))
    with pytest.raises(ValueError, match=r"out\[0\] must be C-contiguous"):
        simdmlp.dense_backward(gy, x, W, y, "relu", out=(np.empty((3, 2), np.float32).T, None, None))
    with pytest.raises(ValueError, match="share memory"):
        g = np.empty((3, 4), np.float32)
        simdmlp.dense_backward(gy, x, W, y, "relu", out=(None, g, g[0]))


def test_training_step_allocates_nothing_with_out():
    """With out= buffers, dense_forward + dense_backward allocate no array memory after
    the first call (grad_z lives in reused native scratch): tracemalloc sees every NumPy
    allocation, so the traced peak during a step stays below the smallest array of the
    layer (what remains is the call's few small Python objects)."""
    import tracemalloc

    rng = np.random.default_rng(6)
    x, W, b = layer(rng, np.float32, M=64, K=100, N=1024)  # grad_b, the smallest: 4 KiB
    y, z = simdmlp.dense_forward(x, W, b, "gelu")
    gy = rng.standard_normal(y.shape).astype(np.float32)
    outs = simdmlp.dense_backward(gy, x, W, z, "gelu")

    def step():
        simdmlp.dense_forward(x, W, b, "gelu", out=(y, z))
        simdmlp.dense_backward(gy, x, W, z, "gelu", out=outs)

    step()
    smallest = min(a.nbytes for a in (y, z, *outs))
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        step()
        _, peak = tracemalloc.get_traced_memory()
        # the check can fail: the same step without out= allocates the layer's arrays
        tracemalloc.reset_peak()
        simdmlp.dense_backward(gy, x, W, z, "gelu")
        _, peak_alloc = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - base < smallest, f"a step with out= allocated {peak - base} bytes"
    assert peak_alloc - base >= sum(a.nbytes for a in outs)


def test_deterministic_across_threads():
    rng = np.random.default_rng(4)
    x, W, b = layer(rng, np.float32, M=257, K=300, N=190)
    gy = rng.standard_normal((257, 190)).astype(np.float32)
    before = simdmlp.get_num_threads()
    try:
        simdmlp.set_num_threads(1)
        y1, z1 = simdmlp.dense_forward(x, W, b, "silu")
        g1 = simdmlp.dense_backward(gy, x, W, z1, "silu")
        for t in (2, 3):
            simdmlp.set_num_threads(t)
            y, z = simdmlp.dense_forward(x, W, b, "silu")
            same_bits(y, y1, f"y, {t} threads")
            for a, c in zip(simdmlp.dense_backward(gy, x, W, z, "silu"), g1):
                same_bits(a, c, f"backward, {t} threads")
    finally:
        simdmlp.set_num_threads(before)


def test_packed_weights_in_dense_and_backward(dense_isa):
    rng = np.random.default_rng(5)
    x, W, b = layer(rng, np.float64, M=9)
    pw = simdmlp.PackedWeights(W)
    y, z = simdmlp.dense_forward(x, W, b, "tanh")
    same_bits(simdmlp.dense(x, pw, b, "tanh"), y, "dense with PackedWeights")
    gy = rng.standard_normal(y.shape)
    for a, c in zip(simdmlp.dense_backward(gy, x, pw, z, "tanh"), simdmlp.dense_backward(gy, x, W, z, "tanh")):
        same_bits(a, c, "backward with PackedWeights (W^T packed on demand)")


def test_float16_and_ints():
    x = np.arange(6, dtype=np.float16).reshape(2, 3)
    W = np.ones((3, 4), np.float16)
    y, z = simdmlp.dense_forward(x, W, np.zeros(4, np.float16), "relu")
    assert y.dtype == z.dtype == np.float16
    assert simdmlp.dense(np.arange(6).reshape(2, 3), np.ones((3, 4))).dtype == np.float64


def test_errors():
    x, W, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32), np.ones(4, np.float32)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(5, 4\)"):
        simdmlp.dense(x, np.ones((5, 4), np.float32))
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 4\)"):
        simdmlp.dense(x, W, np.ones(3, np.float32))
    with pytest.raises(TypeError, match="float32.*float64"):
        simdmlp.dense(x, W.astype(np.float64))
    with pytest.raises(TypeError, match="float64"):
        simdmlp.dense(x, W, b.astype(np.float64))
    with pytest.raises(ValueError, match="unknown activation"):
        simdmlp.dense(x, W, b, "nope")
    with pytest.raises(TypeError, match="negative_slope"):
        simdmlp.dense(x, W, b, "leaky_relu", slope=0.1)
    with pytest.raises(TypeError):
        simdmlp.dense(x, W, b, None, alpha=1.0)
    with pytest.raises(ValueError, match="approximate"):
        simdmlp.dense(x, W, b, "gelu", approximate="fast")
    gy = np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match="z"):
        simdmlp.dense_backward(gy, x, W, None, "relu")
    with pytest.raises(ValueError, match=r"\(2, 5\)"):
        simdmlp.dense_backward(np.ones((2, 5), np.float32), x, W, None)
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(2, 4\)"):
        simdmlp.dense_backward(gy, x, W, np.ones((3, 4), np.float32), "relu")
    with pytest.raises(TypeError):
        simdmlp.dense_backward(gy.astype(np.float64), x, W, None)


def _child_dense(q):
    rng = np.random.default_rng(0)
    x, W, b = layer(rng, np.float32, M=300, K=200, N=300)
    q.put(float(simdmlp.dense(x, W, b, "relu").sum()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_after_threaded_gemm():
    """A child forked after multi-threaded GEMMs still computes (serially)."""
    rng = np.random.default_rng(0)
    x, W, b = layer(rng, np.float32, M=300, K=200, N=300)
    before = simdmlp.get_num_threads()
    simdmlp.set_num_threads(2)
    try:
        want = float(simdmlp.dense(x, W, b, "relu").sum())
        ctx = multiprocessing.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=_child_dense, args=(q,))
        p.start()
        got = q.get(timeout=60)
        p.join(timeout=60)
        assert p.exitcode == 0 and got == want
    finally:
        simdmlp.set_num_threads(before)
