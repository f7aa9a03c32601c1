"""Row-wise functions: softmax, log_softmax (forward and backward, any axis) and prelu.

Oracles (never the native code, never the dtype under test):

* softmax / log_softmax: each row evaluated in a wider type than the dtype under test
  (float64 for float32, ``np.longdouble`` for float64 when it has a >= 64-bit significand,
  else mpmath on a sample of rows), with d = x - max formed exactly as a two-term sum
  (Knuth's two-sum), e = exp(d_hi) (1 + d_lo), pairwise row sums. Its values are kept as
  float64 pairs hi + lo, so |got - exact| is measured to far below the bounds;
  ``test_oracle_matches_mpmath`` checks the oracle against mpmath at 128 bits.
* Forward bound, SPEC.md (not loosened): |got - exact| <= 2^-20 |exact| + 2^-24 (float32),
  2^-48 |exact| + 2^-52 (float64); results whose exact value overflows the dtype must be
  that infinity (float32 log_softmax of [-3e38, 3e38] is [-inf, 0]).
* Backward: SPEC gives no bound; ``softmax_backward_bound`` / ``log_softmax_backward_bound``
  derive one from the float math (see there), with one fixed constant for every case.
* prelu: forward and grad_x bit for bit against simdmlp.reference (one IEEE multiply);
  grad_weight against the exactly rounded sum of the exact products (math.fsum).

Conventions tested (the native docstrings state them; PyTorch does the same): a row
holding NaN or +inf, or only -inf, is NaN in every element, forward and backward
(torch.softmax / log_softmax give NaN rows there too); a -inf entry in an otherwise finite
row gives softmax 0 and log_softmax -inf; prelu(-0.0) = weight * -0.0 (-0.0 for a positive
weight), prelu'(0) = prelu'(-0) = weight (the left-hand value, SPEC "derivatives at kinks").
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import simdmlp
from conftest import FLOAT_DTYPES, assert_same_bits, make_grads, make_inputs
from simdmlp import reference

DTYPE_IDS = [np.dtype(d).name for d in FLOAT_DTYPES]
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)

#: SPEC.md, "Elementwise activations": softmax and log_softmax. Do not loosen.
SOFTMAX_REL = {F32: 2.0**-20, F64: 2.0**-48}
SOFTMAX_ABS = {F32: 2.0**-24, F64: 2.0**-52}
#: unit roundoff of the dtype under test
UNIT = {F32: 2.0**-24, F64: 2.0**-53}
#: The kernels flush exp terms below e^-69 (float32) / e^-690 (float64) to 0 (no
#: subnormal is ever formed; math.inc exp_nonpos_flush): far inside SPEC's absolute term.
FLUSH = {F32: 2.0**-99, F64: 2.0**-995}
#: The constant of the derived backward bounds (see softmax_backward_bound).
BACKWARD_C = 8

LONGDOUBLE_IS_EXTENDED = np.finfo(np.longdouble).nmant >= 63
#: The wide type of the vectorised oracle; None: mpmath on a sample of rows.
WIDE = {F32: np.dtype(np.float64), F64: np.dtype(np.longdouble) if LONGDOUBLE_IS_EXTENDED else None}
MP_PREC = 128  # bits, for the mpmath oracles (2^-128: nothing next to the bounds)
MP_SAMPLE_ROWS = 6

FUNCS = ("softmax", "log_softmax")

# Row lengths: 1..70 covers every vector width (1, 2, 4, 8, 16 elements), the 2x unrolled
# body and the padded tail; k*8 +- 1 and k*16 +- 1 up to 8 vectors; long rows.
ROW_LENGTHS = sorted(
    set(range(1, 71))
    | {k * w + d for w in (8, 16) for k in range(1, 9) for d in (-1, 0, 1)}
    | {127, 128, 129, 255, 256, 257, 1000, 4099}
)


# ------------------------------------------------------------------------- helpers
def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize]).copy()


def _misaligned(a, offset):
    """A writeable C-contiguous copy of a whose data starts `offset` bytes into a buffer."""
    buf = bytearray(a.nbytes + offset)
    v = np.frombuffer(buf, dtype=a.dtype, count=a.size, offset=offset).reshape(a.shape)
    v[...] = a
    return v


def _rows(a, axis):
    """a with `axis` moved last, as a 2-d array of rows (a copy)."""
    a = np.moveaxis(np.asarray(a), axis, -1)
    n = a.shape[-1] if a.ndim else 1
    return np.ascontiguousarray(a).reshape(-1, n)


def nan_rows(x2d):
    """Rows whose softmax / log_softmax is NaN by convention: NaN or +inf, or only -inf."""
    return np.isnan(x2d).any(-1) | np.isposinf(x2d).any(-1) | np.isneginf(x2d).all(-1)


def _pair(v):
    """A wide array as float64 pairs (hi, lo), hi + lo = v to ~106 bits; lo = 0 where hi is
    not finite (also where v overflows float64)."""
    v = np.asarray(v)
    with np.errstate(over="ignore", invalid="ignore"):
        hi = v.astype(np.float64)
        lo = (v - hi.astype(v.dtype)).astype(np.float64) if v.dtype != np.float64 else np.zeros_like(hi)
    return hi, np.where(np.isfinite(hi), lo, 0.0)


def _two_diff(a, b):
    """a - b = s + err exactly (Knuth's two-sum of a and -b), in a's type."""
    s = a - b
    bb = s - a
    err = (a - (s - bb)) + (-b - bb)
    return s, err


class Oracle:
    """softmax, log_softmax and both backward products of the rows of x2d (and g2d), far
    more accurate than the dtype under test. Attributes (float64 arrays of the rows):
    ``rows`` (indices judged: all, or a sample when mpmath is the oracle), d = x - max, y
    (softmax), and (hi, lo) pairs ``logy``, ``y_pair``, ``dsoft``, ``dlog`` (dsoft / dlog
    need g2d). Rows by the NaN convention are NaN."""

    def __init__(self, x2d, g2d=None):
        dtype = x2d.dtype
        wide = WIDE[dtype]
        special = nan_rows(x2d) if x2d.shape[1] else np.zeros(x2d.shape[0], bool)
        if wide is None:
            self.rows = np.unique(np.linspace(0, x2d.shape[0] - 1, MP_SAMPLE_ROWS).astype(int))
            self._mp(x2d[self.rows], None if g2d is None else g2d[self.rows], special[self.rows])
            return
        self.rows = np.arange(x2d.shape[0])
        xw = x2d.astype(wide)
        xw[special] = 0  # filled with NaN below
        with np.errstate(invalid="ignore", over="ignore", under="ignore"):
            m = xw.max(axis=-1, keepdims=True)
            dh, dl = _two_diff(xw, m)
            dl = np.where(np.isfinite(dh), dl, 0)  # -inf entries: d = -inf exactly
            e = np.exp(dh)
            e = e + e * dl  # exp(dh + dl) = exp(dh) (1 + dl + O(dl^2)), |dl| <= 2^-53 |dh|
            s = e.sum(axis=-1, keepdims=True)  # >= 1: the max term is exp(0)
            y = e / s
            logy = (dh - np.log(s)) + dl
            for a in (y, logy):
                a[special] = np.nan
            self.d = np.where(special[:, None], np.nan, dh.astype(np.float64))
            self.y = y.astype(np.float64)
            self.y_pair = _pair(y)
            self.logy = _pair(logy)
            if g2d is not None:
                gw = g2d.astype(wide)
                sgy = (gw * y).sum(axis=-1, keepdims=True)
                self.dsoft = _pair(y * (gw - sgy))
                self.dlog = _pair(gw - y * gw.sum(axis=-1, keepdims=True))

    def _mp(self, x2d, g2d, special):
        shape = x2d.shape
        out = {k: np.full(shape, np.nan) for k in ("d", "y", "yh", "yl", "lh", "ll", "sh", "sl", "gh", "gl")}

        def put(key, i, j, v):
            hi = float(v)
            out[key + "h"][i, j] = hi
            out[key + "l"][i, j] = float(v - hi) if math.isfinite(hi) else 0.0

        with mpmath.workprec(MP_PREC):
            for i in range(shape[0]):
                if special[i]:
                    continue
                xs = [mpmath.mpf(float(v)) for v in x2d[i]]
                m = max(xs)
                d = [v - m for v in xs]
                e = [mpmath.exp(v) for v in d]
                s = mpmath.fsum(e)
                y = [v / s for v in e]
                ls = mpmath.log(s)
                if g2d is not None:
                    g = [mpmath.mpf(float(v)) for v in g2d[i]]
                    sgy = mpmath.fsum(a * b for a, b in zip(g, y))
                    sg = mpmath.fsum(g)
                for j in range(shape[1]):
                    out["d"][i, j] = float(d[j])
                    out["y"][i, j] = float(y[j])
                    put("y", i, j, y[j])
                    put("l", i, j, d[j] - ls)
                    if g2d is not None:
                        put("s", i, j, y[j] * (g[j] - sgy))
                        put("g", i, j, g[j] - y[j] * sg)
        self.d, self.y = out["d"], out["y"]
        self.y_pair = out["yh"], out["yl"]
        self.logy = out["lh"], out["ll"]
        if g2d is not None:
            self.dsoft = out["sh"], out["sl"]
            self.dlog = out["gh"], out["gl"]


def assert_within(got, exact, bound, dtype, what, columns=None):
    """|got - (hi + lo)| <= bound elementwise; NaN exactly where the exact value is NaN;
    where the exact value rounds to +-inf in dtype, got must be that infinity."""
    got = np.asarray(got)
    assert got.dtype == dtype, f"{what}: dtype {got.dtype}, expected {dtype}"
    hi, lo = exact
    g = got.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs((g - hi) - lo)
        rounded = hi.astype(dtype).astype(np.float64)
    ok = np.where(np.isnan(hi), np.isnan(g),
                  np.where(np.isinf(rounded), g == rounded, err <= bound))
    if not ok.all():
        bad = ~ok
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(np.isnan(err), np.inf, err / bound)
        flat = np.flatnonzero(bad.ravel())
        order = flat[np.argsort(-ratio.ravel()[flat], kind="stable")][:6]
        cols = {"got": g, "exact": hi, "err": err, "bound": bound, "err/bound": ratio}
        cols.update(columns or {})
        lines = []
        for k in order:
            idx = np.unravel_index(k, bad.shape)
            lines.append("  at " + str(tuple(int(i) for i in idx)) + ": " + ", ".join(
                f"{name}={np.broadcast_to(v, bad.shape)[idx]!r}" for name, v in cols.items()))
        pytest.fail(f"{what}: {int(bad.sum())} of {bad.size} results outside the bound "
                    f"(worst err/bound {np.nanmax(np.where(bad, ratio, 0)):.3g}):\n" + "\n".join(lines))


def forward_bound(exact_hi, dtype):
    return SOFTMAX_REL[dtype] * np.abs(exact_hi) + SOFTMAX_ABS[dtype]


def _backward_common(o, g2d):
    """Per-row quantities of the backward bounds (float64, exact enough for a bound)."""
    y = o.y
    with np.errstate(invalid="ignore"):
        wy = np.where(y > 0, (1 + np.abs(o.d)) * y, 0.0)  # (1 + |d_j|) y_j, 0 for y_j = 0
    wbar = wy.sum(-1, keepdims=True)  # 1 + sum_j y_j |d_j|  (<= 1 + ln n)
    # float64 gradients near the largest finite value: sums of |g| in a wider range
    ag = np.abs(g2d.astype(WIDE[g2d.dtype] or np.float64))
    sum_ag = ag.sum(-1, keepdims=True)
    n = g2d.shape[-1]
    dt = g2d.dtype
    absolute = 2 * FLUSH[dt] * (ag + sum_ag) + (n + 2) * float(np.finfo(dt).smallest_subnormal)
    return y, wy, wbar, ag, sum_ag, absolute


def softmax_backward_bound(o, g2d):
    """dx_i = y_i (g_i - s), s = sum_j g_j y_j, from x (y recomputed).

    Error model of the kernel (u = unit roundoff of the dtype): d_j = x_j - max is rounded
    once (relative u, so exp(d_j) is off by |d_j| u relative: that is why SPEC's forward
    bound has an absolute term), exp itself and the scaling by 1/sum a few u, the row sum
    of e_j carries sum_j e_j (c + |d_j|) u, i.e. (c + sum_j y_j |d_j|) u relative. So
    y_j is within (w_j + W) c u relative, w_j = 1 + |d_j|, W = sum_j y_j w_j. Then s is off
    by sum_j |g_j y_j| (w_j + W + 2) c u (y_j, the product, the compensated sum, its
    rounding to the dtype), g_i - s and the final product add u |dx_i| each:
        |err_i| <= C u |y_i| [ (w_i + W)(|g_i| + sum_j |g_j y_j|) + sum_j (w_j + W) |g_j y_j| ]
    with C = 8 (c ~ 2 per step: exp within 2 ulp, two roundings of 1/sum, product, sum),
    plus what the documented flush and subnormal products may drop:
        2 FLUSH (|g_i| + sum_j |g_j|) + (n + 2) * smallest subnormal."""
    y, wy, wbar, ag, _, absolute = _backward_common(o, g2d)
    agy = ag * y
    sum_agy = agy.sum(-1, keepdims=True)
    rel = (wy + wbar * y) * (ag + sum_agy) + y * (agy * (1 + np.abs(np.where(y > 0, o.d, 0))) + wbar * agy).sum(-1, keepdims=True)
    return BACKWARD_C * UNIT[g2d.dtype] * rel + absolute


def log_softmax_backward_bound(o, g2d):
    """dx_i = g_i - p_i G, p = softmax(x), G = sum_j g_j.

    The kernel forms exp(d_i) (off by (c + |d_i|) u relative, as above) times k = G / sum
    (G compensated: off by c u sum|g_j|; the row sum off by (c + sum_j y_j |d_j|) u;
    k rounded once), then one fused multiply-subtract (u |dx_i|):
        |err_i| <= C u [ |g_i| + (w_i + W) p_i sum_j |g_j| ]
    (|dx_i| <= |g_i| + p_i |G|), C = 8, plus the flush / subnormal term of
    softmax_backward_bound."""
    y, wy, wbar, ag, sum_ag, absolute = _backward_common(o, g2d)
    rel = ag + (wy + wbar * y) * sum_ag
    return BACKWARD_C * UNIT[g2d.dtype] * rel + absolute


def _fn(name):
    return getattr(simdmlp, name)


def _bwd(name):
    return getattr(simdmlp, name + "_backward")


def _exact_fwd(o, name):
    return o.y_pair if name == "softmax" else o.logy


def check_rows(name, x2d, g2d, y2d, dx2d, what):
    """Forward and backward results of the rows x2d (dtype under test) against the oracle
    with SPEC's forward bound and the derived backward bounds, plus the NaN-row and -inf
    conventions."""
    dtype = x2d.dtype
    for label, r in (("forward", y2d), ("backward", dx2d)):
        assert r.dtype == dtype and r.shape == x2d.shape, f"{what} {label}: {r.dtype} {r.shape}"
    if x2d.shape[1] == 0:
        return
    special = nan_rows(x2d)
    np.testing.assert_array_equal(np.isnan(y2d), np.broadcast_to(special[:, None], x2d.shape),
                                  err_msg=f"{what} forward: NaN must fill exactly the rows holding NaN or +inf or only -inf")
    bwd_nan = special | np.isnan(g2d).any(-1)
    np.testing.assert_array_equal(np.isnan(dx2d), np.broadcast_to(bwd_nan[:, None], x2d.shape),
                                  err_msg=f"{what} backward: NaN must fill exactly the NaN rows (x or grad_output)")
    # exp(-inf) = 0: a -inf logit in a finite row is exactly 0 (softmax) / -inf (log_softmax).
    masked = np.isneginf(x2d) & ~special[:, None]
    masked_g = masked & ~np.isnan(g2d).any(-1)[:, None]
    if masked.any():
        want = 0.0 if name == "softmax" else -np.inf
        assert np.all(y2d[masked] == want), f"{what}: {name} at a -inf logit must be {want}"
        if name == "softmax":
            assert np.all(dx2d[masked_g] == 0), f"{what}: softmax_backward at a -inf logit must be 0"
        else:
            assert np.all(dx2d[masked_g] == g2d[masked_g]), \
                f"{what}: log_softmax_backward at a -inf logit must be grad_output"
    ok_rows = ~np.isnan(g2d).any(-1)  # the oracle's backward needs finite grad rows
    o = Oracle(x2d, np.where(ok_rows[:, None], g2d, 0).astype(dtype))
    r = o.rows
    cols = {"x": x2d[r]}
    exact = _exact_fwd(o, name)
    assert_within(y2d[r], exact, forward_bound(exact[0], dtype), dtype, f"{what} forward", cols)
    g = g2d[r]
    keep = ok_rows[r]
    if name == "softmax":
        exact_b, bound_b = o.dsoft, softmax_backward_bound(o, np.where(keep[:, None], g, 0).astype(dtype))
    else:
        exact_b, bound_b = o.dlog, log_softmax_backward_bound(o, np.where(keep[:, None], g, 0).astype(dtype))
    if not keep.all():
        exact_b = tuple(e[keep] for e in exact_b)
    assert_within(dx2d[r][keep], exact_b, bound_b[keep], dtype, f"{what} backward",
                  {"x": x2d[r][keep], "g": g[keep]})


def logit_rows(n, dtype, seed):
    """Seven rows of length n (float64 values exactly representable in dtype):
    N(0,1); N(0,1)*30 and N(0,1)*300 (exp(x - max) underflows for most entries); the mixed
    scales of make_inputs (+-0, subnormals, tiny, up to the largest finite; no inf/NaN);
    all equal; near one-hot (one 0, the rest in [-40, -10]: log_softmax of the max is
    about -1e-5); N(0,1)*5 with about a quarter -inf (never all)."""
    rng = np.random.default_rng([seed, n, np.dtype(dtype).itemsize])
    peaked = rng.uniform(-40, -10, n)
    peaked[rng.integers(n)] = 0.0
    masked = rng.standard_normal(n) * 5
    holes = rng.random(n) < 0.25
    holes[rng.integers(n)] = False
    masked[holes] = -np.inf
    rows = [
        rng.standard_normal(n),
        rng.standard_normal(n) * 30,
        rng.standard_normal(n) * 300,
        make_inputs(n, dtype, seed, specials=False).astype(np.float64),
        np.full(n, rng.standard_normal() * 10),
        peaked,
        masked,
    ]
    return np.array(rows).astype(dtype)


# ------------------------------------------------------------- softmax / log_softmax
class Failures:
    """Collects the failures of a loop over cases (one test item per function, dtype and
    ISA rather than thousands of items), reported together at the end."""

    def __init__(self):
        self.messages = []

    def check(self, fn, *args, **kwargs):
        try:
            fn(*args, **kwargs)
        except (pytest.fail.Exception, AssertionError) as e:
            self.messages.append(str(e))

    def report(self, what):
        if self.messages:
            pytest.fail(f"{what}: {len(self.messages)} failing cases; the first ones:\n\n"
                        + "\n\n".join(m[:1500] for m in self.messages[:6]))


def _check_length(name, dtype, n, isa):
    x = logit_rows(n, dtype, seed=1)
    g = make_grads(x.size, dtype, seed=1).reshape(x.shape)
    x_bits, g_bits = _bits(x), _bits(g)
    y = _fn(name)(x)
    dx = _bwd(name)(g, x)
    assert np.array_equal(_bits(x), x_bits) and np.array_equal(_bits(g), g_bits), "arguments were modified"
    check_rows(name, x, g, y, dx, what=f"{name} {isa} n={n}")
    for i in range(x.shape[0]):
        assert_same_bits(_fn(name)(x[i]), y[i], what=f"{name} {isa} n={n}: row {i} alone")
        assert_same_bits(_bwd(name)(g[i], x[i]), dx[i], what=f"{name}_backward {isa} n={n}: row {i} alone")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", FUNCS)
def test_rows_against_oracle(name, dtype, isa):
    """For every row length of ROW_LENGTHS: forward within SPEC's bound and backward within
    the derived bound, on seven kinds of rows (logit_rows); each row gives the same bits
    computed alone (no dependence on the other rows or the offset)."""
    failures = Failures()
    for n in ROW_LENGTHS:
        failures.check(_check_length, name, np.dtype(dtype), n, isa)
    failures.report(f"{name} {isa} {np.dtype(dtype).name}")


def special_rows(n, dtype):
    """(x, g): finite rows between rows with NaN, +inf, only -inf, -inf but one entry,
    +-0.9 * the largest finite value, and a finite x row with NaN in grad_output; NaN / inf
    at the start, middle and end (vector body and tail)."""
    rng = np.random.default_rng(n)
    base = rng.standard_normal(n) * 3
    rows = [base.copy()]
    for p in sorted({0, n // 2, n - 1}):
        for v in (np.nan, np.inf):
            r = base.copy()
            r[p] = v
            rows.append(r)
        r = np.full(n, -np.inf)
        r[p] = base[p]  # -inf everywhere but one: softmax is one-hot, log_softmax 0 / -inf
        rows.append(r)
    rows.append(np.full(n, -np.inf))
    if n >= 2:
        r = base.copy()
        r[0], r[-1] = np.inf, -np.inf
        rows.append(r)
        r = base.copy()
        r[0], r[-1] = np.nan, np.inf
        rows.append(r)
        r = base.copy()
        r[::2] = -np.inf
        rows.append(r)
        r = base.copy()  # x - max overflows the dtype: log_softmax -inf there, softmax 0
        r[0], r[-1] = -0.9 * float(np.finfo(dtype).max), 0.9 * float(np.finfo(dtype).max)
        rows.append(r)
    x = np.array(rows).astype(dtype)
    g = make_grads(x.size, dtype, seed=n).reshape(x.shape)
    x = np.concatenate([x, base[None].astype(dtype)])
    g_nan = make_grads(n, dtype, seed=n + 1)
    g_nan[n // 2] = np.nan
    g = np.concatenate([g, g_nan[None]])
    return x, g


def _check_special(name, dtype, n, isa):
    """Convention (as torch.softmax / torch.log_softmax): a row holding NaN or +inf, or
    only -inf, is NaN in every element, forward and backward; NaN in a row of
    grad_output makes that row of the gradient NaN; a -inf logit in a finite row gives
    exactly 0 (softmax) / -inf (log_softmax), and its gradient 0 / grad_output; the other
    rows of the same array are unaffected."""
    x, g = special_rows(n, dtype)
    with np.errstate(all="raise"):  # no floating-point warnings either
        y = _fn(name)(x)
        dx = _bwd(name)(g, x)
    check_rows(name, x, g, y, dx, what=f"{name} {isa} n={n} special rows")
    # The one-hot rows are exact.
    for i in range(x.shape[0]):
        fin = np.isfinite(x[i])
        if fin.sum() == 1 and not np.isposinf(x[i]).any() and not np.isnan(x[i]).any():
            want = np.where(fin, 1.0, 0.0) if name == "softmax" else np.where(fin, 0.0, -np.inf)
            assert np.array_equal(y[i], want.astype(dtype)), f"{name} {isa}: one-hot row {y[i]}"
    for i in (0, x.shape[0] - 1):
        assert_same_bits(_fn(name)(x[i]), y[i], what="finite row alone")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", FUNCS)
def test_special_rows(name, dtype, isa):
    """Row lengths 1, 2, 3, 8, 15, 16, 17, 33, 64, 100 (see _check_special)."""
    failures = Failures()
    for n in (1, 2, 3, 8, 15, 16, 17, 33, 64, 100):
        failures.check(_check_special, name, np.dtype(dtype), n, isa)
    failures.report(f"{name} {isa} {np.dtype(dtype).name} special rows")


def test_oracle_matches_mpmath():
    """The oracle (float64 for float32, long double for float64) against mpmath at 128 bits
    on rows of several lengths and spreads: its error must be below 1/64 of every bound
    it judges (forward, both backward)."""
    for dtype in (F32, F64):
        if WIDE[dtype] is None:
            continue  # no extended long double: the float64 oracle is mpmath itself
        for n in (1, 3, 17, 150):
            x = logit_rows(n, dtype, seed=11)
            g = make_grads(x.size, dtype, seed=11).reshape(x.shape)
            wide = Oracle(x, g)
            saved = WIDE[dtype]
            WIDE[dtype] = None
            try:
                mp = Oracle(x, g)
            finally:
                WIDE[dtype] = saved
            r = mp.rows
            for label, a, b, bound in (
                ("softmax", wide.y_pair, mp.y_pair, forward_bound(mp.y_pair[0], dtype)),
                ("log_softmax", wide.logy, mp.logy, forward_bound(mp.logy[0], dtype)),
                ("softmax_backward", wide.dsoft, mp.dsoft, softmax_backward_bound(mp, g[r])),
                ("log_softmax_backward", wide.dlog, mp.dlog, log_softmax_backward_bound(mp, g[r])),
            ):
                ah, al = a[0][r], a[1][r]
                with np.errstate(invalid="ignore"):
                    err = np.abs((ah - b[0]) + (al - b[1]))
                same_inf = np.isinf(ah) & (ah == b[0])
                ok = same_inf | (err <= bound / 64)
                assert ok.all(), (f"{dtype} n={n} {label}: oracle off by up to "
                                  f"{np.nanmax(np.where(same_inf, 0, err / bound)):.3g} of the bound")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_log_softmax_outputs_near_zero(dtype, isa):
    """The worst case of log_softmax: near one-hot rows whose max comes last (its output
    is -log(1 + sum of small terms), about -1e-6, so only SPEC's absolute term 2^-24 /
    2^-52 is left for the error of the row sum: a row sum near 1 must be accurate to
    about one rounding). Includes NEAR_ONE_HOT_ROW, [-10.6, -13.3, ..., -11.1, 0], a short
    row that needs this on every ISA in float64."""
    rng = np.random.default_rng(12)
    failures = Failures()
    for n in (2, 3, 17, 33, 100, 1000):
        x = rng.uniform(-25, -10, (64, n))
        x[:, -1] = 0.0
        if n == 17:
            x[0] = NEAR_ONE_HOT_ROW
        x = x.astype(dtype)
        failures.check(_check_log_forward, x, f"log_softmax {isa} n={n} near one-hot")
    failures.report(f"log_softmax {isa} {np.dtype(dtype).name}")


NEAR_ONE_HOT_ROW = [-10.6, -13.3, -14.9, -16.8, -17.6, -26.4, -25.0, -21.4, -19.4, -18.4,
                    -18.7, -17.1, -22.4, -18.8, -29.0, -11.1, 0.0]


def _check_log_forward(x, what):
    o = Oracle(x)
    y = simdmlp.log_softmax(x)
    assert_within(y[o.rows], o.logy, forward_bound(o.logy[0], x.dtype), x.dtype, what, {"x": x[o.rows]})


# ------------------------------------------------------------------------------ axis
AXIS_SHAPES = [(6,), (5, 7), (3, 4, 6), (2, 1, 33), (4, 17, 3), (2, 3, 1, 5)]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", FUNCS)
def test_any_axis(name, dtype, isa):
    """axis = every value in -ndim..ndim-1: bitwise the result of moving the axis last,
    calling with the default axis and moving it back; within the bounds against the
    oracle; axis passed by keyword or position; the default is -1."""
    fwd, bwd = _fn(name), _bwd(name)
    failures = Failures()
    for shape in AXIS_SHAPES:
        n = math.prod(shape)
        x = (make_inputs(n, dtype, seed=21, specials=False).reshape(shape).astype(np.float64) % 50
             - 25).astype(dtype)  # moderate logits of mixed scales
        g = make_grads(n, dtype, seed=21).reshape(shape)
        assert_same_bits(fwd(x), fwd(x, axis=-1), what=f"{name} default axis")
        assert_same_bits(bwd(g, x), bwd(g, x, axis=-1), what=f"{name}_backward default axis")
        for axis in range(-len(shape), len(shape)):
            what = f"{name} {isa} shape={shape} axis={axis}"
            y, dx = fwd(x, axis=axis), bwd(g, x, axis=axis)
            moved_y = np.moveaxis(fwd(np.moveaxis(x, axis, -1)), -1, axis)
            moved_dx = np.moveaxis(bwd(np.moveaxis(g, axis, -1), np.moveaxis(x, axis, -1)), -1, axis)
            failures.check(assert_same_bits, y, moved_y, what=f"{what}: forward vs axis moved last")
            failures.check(assert_same_bits, dx, moved_dx, what=f"{what}: backward vs axis moved last")
            failures.check(assert_same_bits, fwd(x, axis), y, what=f"{what}: positional axis")
            failures.check(assert_same_bits, bwd(g, x, axis), dx, what=f"{what}: positional axis (backward)")
            assert y.shape == x.shape and dx.shape == x.shape
            failures.check(check_rows, name, _rows(x, axis), _rows(g, axis), _rows(y, axis), _rows(dx, axis), what)
    failures.report(f"{name} {isa} {np.dtype(dtype).name} axes")


# ---------------------------------------------------------------------------- layouts
def _view(a, layout):
    """A non-contiguous (or misaligned) array with a's values."""
    if layout == "strided":
        buf = np.full(a.shape[:-1] + (2 * a.shape[-1],), np.nan, dtype=a.dtype)
        buf[..., ::2] = a
        return buf[..., ::2]
    if layout == "negative_stride":
        return a[::-1, ::-1].copy()[::-1, ::-1]
    if layout == "transposed":
        parent = np.full((a.shape[1], a.shape[0] + 1), np.nan, dtype=a.dtype)
        parent[:, :a.shape[0]] = a.T
        return parent[:, :a.shape[0]].T
    if layout == "misaligned":
        return _misaligned(a, 1)
    raise AssertionError(layout)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", FUNCS)
def test_layouts_same_bits(name, dtype, isa):
    """Strided, negative-stride, transposed and misaligned inputs, out= (fresh or
    misaligned), in place (forward out=x; backward out=grad_output and out=x) and out=
    overlapping the input by one element: the same bits as the contiguous call, along the
    last axis and along axis 0; the out array is what is returned; inputs not written are
    unchanged."""
    fwd, bwd = _fn(name), _bwd(name)
    x = logit_rows(37, dtype, seed=31)[[0, 1, 3, 5, 6]]  # (5, 37), -inf entries included
    g = make_grads(x.size, dtype, seed=31).reshape(x.shape)
    x_bits, g_bits = _bits(x), _bits(g)
    for axis in (-1, 0):
        want_y, want_dx = fwd(x, axis=axis), bwd(g, x, axis=axis)
        tag = f"{name} {isa} axis={axis}"
        for layout in ("strided", "negative_stride", "transposed", "misaligned"):
            xv, gv = _view(x, layout), _view(g, layout)
            assert layout == "misaligned" or not xv.flags.c_contiguous
            assert_same_bits(fwd(xv, axis=axis), want_y, what=f"{tag} {layout} forward")
            assert_same_bits(bwd(gv, xv, axis=axis), want_dx, what=f"{tag} {layout} backward")
            assert np.array_equal(_bits(xv), x_bits) and np.array_equal(_bits(gv), g_bits), f"{tag} {layout}: input modified"
        for mis in (0, 2):
            out = np.full(x.shape, 7.0, dtype=dtype)
            out = _misaligned(out, mis) if mis else out
            assert fwd(x, axis=axis, out=out) is out, "forward must return out"
            assert_same_bits(out, want_y, what=f"{tag} out= (offset {mis})")
            assert bwd(g, x, axis=axis, out=out) is out, "backward must return out"
            assert_same_bits(out, want_dx, what=f"{tag} backward out= (offset {mis})")
        xc = x.copy()
        assert fwd(xc, axis=axis, out=xc) is xc
        assert_same_bits(xc, want_y, what=f"{tag} in place")
        for target in ("grad_output", "x"):
            gc, xc = g.copy(), x.copy()
            out = gc if target == "grad_output" else xc
            assert bwd(gc, xc, axis=axis, out=out) is out
            assert_same_bits(out, want_dx, what=f"{tag} backward in place (out={target})")
            other = xc if target == "grad_output" else gc
            assert np.array_equal(_bits(other), x_bits if target == "grad_output" else g_bits), \
                f"{tag}: backward in place modified the other argument"
        assert np.array_equal(_bits(x), x_bits) and np.array_equal(_bits(g), g_bits)
    # out= overlapping the input by one element (a 1-d row: x = a[1:], out = a[:-1] and back)
    row, grow = x[1], g[1]
    want_y, want_dx = fwd(row), bwd(grow, row)
    for below in (True, False):
        a = np.full(row.size + 1, np.nan, dtype=dtype)
        xv, outv = (a[1:], a[:-1]) if below else (a[:-1], a[1:])
        xv[...] = row
        assert fwd(xv, out=outv) is outv
        assert_same_bits(outv, want_y, what=f"{name} {isa} overlapping out (below={below})")
        xv[...] = row
        assert bwd(grow, xv, out=outv) is outv
        assert_same_bits(outv, want_dx, what=f"{name}_backward {isa} overlapping out (below={below})")


def test_thread_counts_same_bits(isa):
    """Arrays large enough to be split over threads (softmax: >= 2^15 elements, prelu:
    >= 2^17): bitwise identical on 1 thread and on the default number (softmax family,
    prelu and both prelu_backward results, scalar and per-channel weight)."""
    default = simdmlp.get_num_threads()
    inputs = []
    for dtype in FLOAT_DTYPES:
        x = make_inputs(300 * 130, dtype, seed=41, specials=False).reshape(300, 130)
        x = (x.astype(np.float64) % 60 - 30).astype(dtype)
        g = make_grads(x.size, dtype, seed=41).reshape(x.shape)
        xp = make_inputs(1100 * 125, dtype, seed=42).reshape(1100, 125)
        gp = make_grads(xp.size, dtype, seed=42).reshape(xp.shape)
        inputs.append((x, g, xp, gp))
    results = {}
    for threads in (1, default):
        simdmlp.set_num_threads(threads)
        got = []
        for x, g, xp, gp in inputs:
            for name in FUNCS:
                got += [_fn(name)(x), _bwd(name)(g, x)]
            with np.errstate(all="ignore"):
                for weight in (0.25, np.linspace(-1, 2, 125)):
                    got += [simdmlp.prelu(xp, weight), *simdmlp.prelu_backward(gp, xp, weight)]
        results[threads] = got
    assert default > 1 or simdmlp.get_num_threads() == 1  # on one CPU the check is vacuous
    for i, (a, b) in enumerate(zip(results[1], results[default])):
        assert_same_bits(b, a, what=f"{isa}: result {i} with {default} threads vs 1 thread")


@pytest.mark.parametrize("cols", [1, 256, 250])
@pytest.mark.parametrize("offset", [0, 4, 1])
def test_prelu_large_outputs_streamed_same_bits(cols, offset, isa):
    """prelu outputs of 8 MiB and more are written with streaming stores (scalar weight:
    leaky_relu's loop; a weight per column: each row's head up to a vector boundary masked,
    when all rows start at the same offset from one, as 256 float32 columns do and 250 do
    not); the values must be bit for bit simdmlp.reference's, at any output alignment
    (offset in bytes: 4 = element-aligned only, 1 = never aligned), on one thread and all."""
    rows = ((1 << 21) + 37 * cols) // cols
    x = make_inputs(rows * cols, np.float32, seed=11).reshape(rows, cols)
    weight = np.float32(0.25) if cols == 1 else np.linspace(-1, 2, cols).astype(np.float32)
    with np.errstate(all="ignore"):
        want = reference.prelu(x, weight).astype(np.float32)
    for threads in (1, simdmlp.get_num_threads()):
        simdmlp.set_num_threads(threads)
        out = _misaligned(np.zeros(x.shape, np.float32), offset) if offset else np.zeros(x.shape, np.float32)
        assert simdmlp.prelu(x, weight, out=out) is out
        assert_same_bits(out, want, what=f"prelu {isa}, {cols} columns, {threads} threads, offset {offset}")


@pytest.mark.parametrize("cols", [1024, 272, 250])
@pytest.mark.parametrize("name", FUNCS)
def test_rows_beyond_cache_same_bits(name, cols, isa):
    """Row arrays of 32 MiB and more take another schedule (rowwise.cpp, kFarBytes): the
    forward defers each row's final pass into the next row's sum pass and streams it out
    (rows of whole 64-byte lines: 1024 and 272 float32 columns, not 250), the backward
    prefetches dy. The values must be bit for bit those of each row computed alone (the
    cached schedule, checked against the oracle above), allocated, with out= at any
    alignment (offset 4: element-aligned only, 1: never aligned) and in place, on one
    thread and all; NaN, +inf and all -inf rows included."""
    rows = ((32 << 20) + 4096 * 37) // (4 * cols)
    x = make_inputs(rows * cols, np.float32, seed=7).reshape(rows, cols)
    x[3, 5], x[4, 7], x[6] = np.nan, np.inf, -np.inf
    g = make_grads(rows * cols, np.float32, seed=8).reshape(rows, cols)
    fwd, bwd = _fn(name), _bwd(name)
    check = list(range(0, rows, 97)) + [3, 4, 6, rows - 1]
    with np.errstate(all="ignore"):
        want = {i: fwd(x[i]) for i in check}
        want_dx = {i: bwd(g[i], x[i]) for i in check}
        for threads in (1, simdmlp.get_num_threads()):
            simdmlp.set_num_threads(threads)
            outs = {"alloc": fwd(x)}
            for offset in (0, 4, 1):
                out = _misaligned(np.zeros(x.shape, np.float32), offset) if offset else np.zeros(x.shape, np.float32)
                assert fwd(x, out=out) is out
                outs[f"out offset {offset}"] = out
            xi = x.copy()
            assert fwd(xi, out=xi) is xi
            outs["in place"] = xi
            dx = bwd(g, x)
            for i in check:
                for mode, y in outs.items():
                    assert_same_bits(y[i], want[i], what=f"{name} {isa} {cols} columns, {threads} threads, {mode}: row {i}")
                assert_same_bits(dx[i], want_dx[i], what=f"{name}_backward {isa} {cols} columns, {threads} threads: row {i}")


# ------------------------------------------------------------------ shapes and dtypes
@pytest.mark.parametrize("name", FUNCS)
def test_zero_d_and_empty(name):
    """A 0-d array is one row of one element (softmax 1, log_softmax 0; axis 0 and -1
    accepted); empty arrays give empty results of the same shape and dtype along any axis."""
    fwd, bwd = _fn(name), _bwd(name)
    for dtype in FLOAT_DTYPES:
        for axis in (0, -1):
            y = fwd(np.array(2.5, dtype=dtype), axis=axis)
            assert isinstance(y, np.ndarray) and y.shape == () and y.dtype == dtype
            assert float(y) == (1.0 if name == "softmax" else 0.0)
            dx = bwd(np.array(3.0, dtype=dtype), np.array(2.5, dtype=dtype), axis=axis)
            assert dx.shape == () and dx.dtype == dtype
            assert float(dx) == 0.0  # y (g - g y) = 0 and g - 1 * g = 0
        assert np.isnan(fwd(np.array(np.nan, dtype=dtype)))
        for shape in [(0,), (0, 5), (5, 0), (3, 0, 2)]:
            for axis in range(-len(shape), len(shape)):
                x = np.zeros(shape, dtype=dtype)
                y, dx = fwd(x, axis=axis), bwd(x, x, axis=axis)
                assert y.shape == shape and y.dtype == dtype and dx.shape == shape and dx.dtype == dtype


@pytest.mark.parametrize("name", FUNCS)
def test_dtype_conversions(name):
    """SPEC: ints and bools are computed as float64, float16 in float32 and returned as
    float16; lists are taken as np.asarray takes them."""
    fwd, bwd = _fn(name), _bwd(name)
    xi = np.array([[1, 5, -3, 0], [2, 2, 2, 9]])
    gi = np.array([[1, -1, 2, 0], [3, 0, 1, 1]])
    assert_same_bits(fwd(xi), fwd(xi.astype(np.float64)), what="int input")
    assert_same_bits(bwd(gi, xi), bwd(gi.astype(np.float64), xi.astype(np.float64)), what="int backward")
    assert_same_bits(fwd(xi > 1), fwd((xi > 1).astype(np.float64)), what="bool input")
    assert_same_bits(fwd(xi.tolist()), fwd(xi.astype(np.float64)), what="list input")
    xh = (np.linspace(-8, 8, 24).reshape(3, 8)).astype(np.float16)
    gh = np.linspace(-2, 3, 24).reshape(3, 8).astype(np.float16)
    assert_same_bits(fwd(xh), fwd(xh.astype(np.float32)).astype(np.float16), what="float16")
    assert_same_bits(bwd(gh, xh, axis=0), bwd(gh.astype(np.float32), xh.astype(np.float32), axis=0).astype(np.float16),
                     what="float16 backward")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", FUNCS)
def test_backward_large_gradients(name, dtype, isa):
    """SPEC: no overflow anywhere in the domain. Gradients near the largest finite value
    whose exact vector-Jacobian product is finite must give it (within the derived bound);
    where the exact value overflows, the matching infinity. E.g. float32 log_softmax_backward
    of g = [3e38] * 17 at x = 0 is exactly 0 (G = sum g overflows float32 but not the
    result); softmax_backward of g = [b, -b, -b] at x = [0, 0, 0] is [4b/9, -2b/9, -2b/9]."""
    big = float(np.finfo(dtype).max) * 0.9
    failures = Failures()
    for n in (2, 3, 17, 40):
        x = np.zeros((3, n), dtype=dtype)
        x[2] = np.linspace(-1, 0, n)
        g = np.full((3, n), big, dtype=dtype)
        g[1, 1:] = -big
        g[2, ::2] = -big
        with np.errstate(all="raise"):
            y, dx = _fn(name)(x), _bwd(name)(g, x)
        failures.check(check_rows, name, x, g, y, dx, what=f"{name} {isa} n={n} gradients near the largest finite")
    failures.report(f"{name}_backward {isa} {np.dtype(dtype).name}")


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
                                  "prelu", "prelu_backward"])
def test_out_validation(name):
    """out= of the wrong shape or dtype, non-contiguous, read-only or not an ndarray:
    ValueError / TypeError naming the function, raised before anything is written
    (along the last axis and along axis 0)."""
    x = np.linspace(-3, 3, 12).reshape(3, 4).astype(np.float32)
    g = np.linspace(1, 2, 12).reshape(3, 4).astype(np.float32)
    fn = getattr(simdmlp, name)
    if name.startswith("prelu"):
        calls = [lambda out: fn(*(((g,) if name.endswith("backward") else ()) + (x, 0.25)), out=out)]
    elif name.endswith("backward"):
        calls = [lambda out, a=a: fn(g, x, axis=a, out=out) for a in (-1, 0)]
    else:
        calls = [lambda out, a=a: fn(x, axis=a, out=out) for a in (-1, 0)]
    read_only = np.zeros((3, 4), np.float32)
    read_only.flags.writeable = False
    bad_outs = {
        "wrong shape (4, 3)": np.zeros((4, 3), np.float32),
        "wrong shape (12,)": np.zeros(12, np.float32),
        "float64": np.zeros((3, 4), np.float64),
        "float16": np.zeros((3, 4), np.float16),
        "Fortran order": np.zeros((3, 4), np.float32, order="F"),
        "strided view": np.zeros((3, 8), np.float32)[:, ::2],
        "read-only": read_only,
        "list": [[0.0] * 4] * 3,
    }
    for call in calls:
        for label, out in bad_outs.items():
            before = np.array(out, copy=True)
            with pytest.raises((ValueError, TypeError)) as e:
                call(out)
            assert name in str(e.value), f"{name}, out {label}: message does not name the function: {e.value}"
            assert np.array_equal(np.asarray(out), before), f"{name}, out {label}: written before raising"
        good = np.zeros((3, 4), np.float32)
        r = call(good)
        assert (r[0] if name == "prelu_backward" else r) is good


# --------------------------------------------------------------------------- bad input
def _raises(exc, fn, *args, must_name=(), **kwargs):
    with pytest.raises(exc) as e:
        fn(*args, **kwargs)
    msg = str(e.value)
    for part in must_name:
        assert part in msg, f"{fn.__name__}: message {msg!r} does not name {part!r}"


def test_bad_input():
    x = np.zeros((4, 5), np.float32)
    g = np.ones((4, 5), np.float32)
    # prelu weight: scalar or one entry per element of the last axis (not the first)
    for w in (np.ones(3), np.ones(4), np.ones(6)):
        _raises(ValueError, simdmlp.prelu, x, w, must_name=(str(w.shape), str(x.shape)))
        _raises(ValueError, simdmlp.prelu_backward, g, x, w, must_name=(str(w.shape), str(x.shape)))
    _raises(ValueError, simdmlp.prelu, x, np.ones((2, 5)), must_name=("(2, 5)",))
    _raises(ValueError, simdmlp.prelu, x, np.ones((1, 5)), must_name=("(1, 5)",))
    _raises(ValueError, simdmlp.prelu, np.float32(1), np.ones(2), must_name=("(2,)",))
    # grad_output / x shapes must match exactly: ValueError naming both
    for name in ("softmax_backward", "log_softmax_backward"):
        fn = getattr(simdmlp, name)
        _raises(ValueError, fn, g[:3], x, must_name=("(3, 5)", "(4, 5)"))
        _raises(ValueError, fn, g.T, x, must_name=("(5, 4)", "(4, 5)"))
        _raises(ValueError, fn, g[:3], x, axis=0, must_name=("(3, 5)", "(4, 5)"))
    _raises(ValueError, simdmlp.prelu_backward, g[:, :1], x, 0.25, must_name=("(4, 1)", "(4, 5)"))
    # mixed dtypes
    for name in ("softmax_backward", "log_softmax_backward"):
        _raises(TypeError, getattr(simdmlp, name), g, x.astype(np.float64), must_name=(name,))
        _raises(TypeError, getattr(simdmlp, name), g.astype(np.float64), x, must_name=(name,))
    _raises(TypeError, simdmlp.prelu_backward, g, x.astype(np.float64), 0.25, must_name=("prelu_backward",))
    # complex, object and string input: TypeError naming the function and the dtype
    for bad in (x.astype(np.complex64), x.astype(np.complex128), np.array([[None, 1.0]]), np.array([["a", "b"]])):
        dt = str(bad.dtype)
        for name in FUNCS:
            _raises(TypeError, getattr(simdmlp, name), bad, must_name=(name, dt))
            _raises(TypeError, getattr(simdmlp, name + "_backward"), bad, bad, must_name=(name + "_backward", dt))
            if bad.shape == x.shape:
                _raises(TypeError, getattr(simdmlp, name + "_backward"), g, bad, must_name=(name + "_backward", dt))
                _raises(TypeError, getattr(simdmlp, name + "_backward"), bad, x, must_name=(name + "_backward", dt))
        _raises(TypeError, simdmlp.prelu, bad, 0.25, must_name=("prelu", dt))
        _raises(TypeError, simdmlp.prelu_backward, bad, bad, 0.25, must_name=("prelu_backward", dt))
    _raises(TypeError, simdmlp.prelu, x, 0.25 + 1j, must_name=("prelu", "complex"))
    _raises(TypeError, simdmlp.prelu_backward, g, x, np.ones(5, np.complex64), must_name=("prelu_backward", "complex"))
    # axis out of range (ValueError; NumPy's AxisError is one)
    for name in FUNCS:
        for axis in (2, -3, 100):
            _raises(ValueError, getattr(simdmlp, name), x, axis=axis, must_name=(name, "axis"))
            _raises(ValueError, getattr(simdmlp, name + "_backward"), g, x, axis=axis, must_name=(name + "_backward", "axis"))
        _raises(ValueError, getattr(simdmlp, name), np.float32(1), axis=1, must_name=(name, "axis"))
        _raises(ValueError, getattr(simdmlp, name), np.ones(3), axis=-2, must_name=(name, "axis"))


# ------------------------------------------------------------------------------ prelu
PRELU_SHAPES = [(1,), (7,), (16,), (17,), (33,), (64,), (65,), (1000,), (5, 1), (4, 3), (3, 16),
                (3, 17), (2, 3, 33), (2, 70), (64, 5), (0,), (0, 4), (3, 0)]
WEIGHT_KINDS = ("scalar", "negative", "zero", "inexact", "np_float64", "zero_d_array", "one_element",
                "per_channel", "per_channel_list")


def prelu_weight(kind, channels):
    """A weight of the given kind for x with `channels` entries on the last axis (None when
    the kind does not fit). Per-channel weights are float64 with values that do not
    survive conversion to float32 exactly (so the conversion to x's dtype is tested)."""
    if kind == "scalar":
        return 0.25
    if kind == "negative":
        return -1.5
    if kind == "zero":
        return 0.0
    if kind == "inexact":  # a Python float (the binding's fast path) that float32 rounds
        return -0.3
    if kind == "np_float64":
        return np.float64(0.1)
    if kind == "zero_d_array":
        return np.array(-0.3)
    if kind == "one_element":
        return np.array([0.7])
    if channels < 2 and kind.startswith("per_channel"):
        return None
    w = np.random.default_rng(channels).uniform(-2, 2, channels)
    w[0] = 0.1
    if channels > 2:
        w[1], w[2] = 0.0, -0.0
    return w.tolist() if kind == "per_channel_list" else w


def _channels(shape):
    return shape[-1] if len(shape) else 1


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_prelu_forward_exact(dtype, isa):
    """prelu(x, weight) = x if x > 0 else weight * x, one IEEE multiply: bit for bit the
    reference (weight converted to x's dtype), NaN in -> NaN out, +-0 and +-inf included
    (prelu(-0.0) = weight * -0.0), for scalar, 0-d, one-element and per-channel weights."""
    failures = Failures()
    for shape in PRELU_SHAPES:
        n = math.prod(shape)
        x = make_inputs(n, dtype, seed=51).reshape(shape)
        for kind in WEIGHT_KINDS:
            w = prelu_weight(kind, _channels(shape))
            if w is None:
                continue
            with np.errstate(all="ignore"):  # the reference's weight * inf, weight 0
                want = reference.prelu(x, w)
            y = simdmlp.prelu(x, w)
            failures.check(assert_same_bits, y, want, what=f"prelu {isa} shape={shape} weight={kind}")
            failures.check(assert_same_bits, simdmlp.prelu(x, weight=w), y, what="weight by keyword")
    failures.report(f"prelu {isa} {np.dtype(dtype).name}")


def test_prelu_kink_and_specials(isa):
    """x = +-0: prelu(+0) = weight * +0, prelu(-0) = weight * -0 (-0.0 for a positive
    weight, as torch and the reference); prelu'(+-0) = weight (the left-hand value, SPEC);
    x = +inf passes through, x = -inf gives weight * -inf; NaN propagates to grad_x and to
    the grad_weight of its channel only."""
    for dtype in FLOAT_DTYPES:
        x = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, -2.0], dtype=dtype)
        for w in (0.25, -0.5):
            y = simdmlp.prelu(x, w)
            wd = dtype(w)
            with np.errstate(invalid="ignore"):
                want = np.array([wd * dtype(-0.0), wd * dtype(0.0), np.inf, wd * dtype(-np.inf), np.nan,
                                 wd * dtype(-2.0)], dtype=dtype)
            np.testing.assert_array_equal(y, want, strict=True)
            assert np.array_equal(np.signbit(y[:2]), np.signbit(want[:2])), f"signs of prelu(+-0): {y[:2]}"
            g = np.array([3.0, -5.0, 1.0, 2.0, 1.0, 1.0], dtype=dtype)
            gx, gw = simdmlp.prelu_backward(g, x, w)
            np.testing.assert_array_equal(gx, np.array([3 * wd, -5 * wd, 1, 2 * wd, np.nan, wd], dtype=dtype),
                                          strict=True)
            assert np.isnan(gw) and gw.shape == () and gw.dtype == dtype
        # per channel: NaN poisons its channel only; x = -0 contributes g * -0 = 0
        xc = np.array([[np.nan, -0.0, -1.0], [1.0, 0.0, -2.0]], dtype=dtype)
        gc = np.array([[1.0, 4.0, 1.0], [1.0, 5.0, 0.5]], dtype=dtype)
        gx, gw = simdmlp.prelu_backward(gc, xc, np.array([0.5, 0.25, 2.0]))
        assert gw.shape == (3,) and gw.dtype == dtype
        assert np.isnan(gw[0]) and gw[1] == 0 and gw[2] == -2.0, gw
        np.testing.assert_array_equal(gx, np.array([[np.nan, 1.0, 2.0], [1.0, 1.25, 1.0]], dtype=dtype), strict=True)


def _two_prod(a, b):
    """p + e = a * b exactly for float64 a, b (Dekker/Veltkamp, no FMA), barring underflow."""
    def split(v):
        c = 134217729.0 * v  # 2^27 + 1
        h = c - (c - v)
        return h, v - h
    p = a * b
    ah, al = split(a)
    bh, bl = split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def exact_weight_grad(g, x, channels):
    """Per channel: (hi, lo) of the exactly rounded sum of g * x over x <= 0 (NaN when a
    term is NaN), sum |g x|, and the number of terms summed."""
    x2 = x.reshape(-1, channels).astype(np.float64)
    g2 = g.reshape(-1, channels).astype(np.float64)
    take = ~(x2 > 0)  # NaN x is taken (and gives NaN), as the reference
    with np.errstate(all="ignore"):
        p, e = _two_prod(g2, x2)
    if x.dtype == np.float32:
        e = np.zeros_like(p)  # a product of two float32 is exact in float64
    p, e = np.where(take, p, 0.0), np.where(take, e, 0.0)
    hi, lo = np.empty(channels), np.empty(channels)
    for c in range(channels):
        terms = np.concatenate([p[:, c], e[:, c]])
        if np.isnan(terms).any():
            hi[c], lo[c] = np.nan, 0.0
            continue
        hi[c] = math.fsum(terms)
        lo[c] = math.fsum(np.append(terms, -hi[c]))
    return hi, lo, np.abs(p).sum(axis=0), x2.shape[0]


def weight_grad_inputs(n, dtype, seed):
    """x and grad_output for grad_weight accuracy: N(0,1), [-30, 30], wide magnitudes
    (1e-15..1e15 float32, 1e-140..1e140 float64: no product overflows), +-0, subnormals."""
    rng = np.random.default_rng([seed, n, np.dtype(dtype).itemsize])
    hi = 15 if dtype == np.float32 else 140
    sub = float(np.finfo(dtype).smallest_subnormal)

    def draw():
        k = rng.integers(0, 5, n)
        s = rng.choice([-1.0, 1.0], n)
        return np.select([k == 0, k == 1, k == 2, k == 3],
                         [rng.standard_normal(n), rng.uniform(-30, 30, n), s * 10 ** rng.uniform(-hi, hi, n),
                          s * 0.0], s * sub * rng.integers(1, 1000, n)).astype(dtype)
    return draw(), draw()


def _check_prelu_backward(dtype, shape, kind, isa):
    n = math.prod(shape)
    c = _channels(shape)
    w = prelu_weight(kind, c)
    what = f"prelu_backward {isa} shape={shape} weight={kind}"
    # grad_x: bit for bit the reference, on inputs with +-inf, NaN, huge and tiny values
    x = make_inputs(n, dtype, seed=52).reshape(shape)
    g = make_grads(n, dtype, seed=52).reshape(shape)
    gx, gw = simdmlp.prelu_backward(g, x, w)
    with np.errstate(all="ignore"):
        want_gx, want_gw = reference.prelu_backward(g, x, w)
    assert_same_bits(gx, want_gx, what=f"{what}: grad_x")
    assert isinstance(gw, np.ndarray) and gw.shape == np.shape(w) and gw.dtype == dtype, \
        f"{what}: grad_weight {type(gw)} {getattr(gw, 'shape', None)} {getattr(gw, 'dtype', None)}"
    assert_same_bits(simdmlp.prelu_backward(g, x, weight=w)[0], gx, what="weight by keyword")
    # grad_weight: against the exactly rounded sum; n eps sum|terms| (SPEC gives no bound:
    # any summation order of the products rounded in the dtype meets it)
    x, g = weight_grad_inputs(n, dtype, seed=53)
    x, g = x.reshape(shape), g.reshape(shape)
    if n >= 4:
        x.reshape(-1)[[1, n // 2]] = np.nan  # NaN poisons its channel (all, for a scalar weight)
    gx, gw = simdmlp.prelu_backward(g, x, w)
    with np.errstate(all="ignore"):
        assert_same_bits(gx, reference.prelu_backward(g, x, w)[0], what=f"{what}: grad_x (moderate inputs)")
    per_channel = np.size(w) > 1
    hi, lo, sum_abs, m = exact_weight_grad(g, x, c if per_channel else 1)
    bound = (m + 1) * UNIT[np.dtype(dtype)] * sum_abs + (m + 1) * float(np.finfo(dtype).smallest_subnormal)
    if not per_channel:
        hi, lo, bound = hi.reshape(np.shape(w)), lo.reshape(np.shape(w)), bound.reshape(np.shape(w))
    assert_within(gw, (hi, lo), bound, np.dtype(dtype), f"{what}: grad_weight")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_prelu_backward(dtype, isa):
    """grad_x = grad_output * (1 if x > 0 else weight): bit for bit the reference (NaN x
    -> NaN); grad_weight = sum of grad_output * x where x <= 0, per channel (last axis)
    or over everything (scalar weight), with the weight's shape and x's dtype, against the
    exact sum; NaN in x makes its channel's grad_weight NaN."""
    failures = Failures()
    for shape in PRELU_SHAPES:
        for kind in WEIGHT_KINDS:
            if prelu_weight(kind, _channels(shape)) is not None:
                failures.check(_check_prelu_backward, dtype, shape, kind, isa)
    failures.report(f"prelu_backward {isa} {np.dtype(dtype).name}")


def test_prelu_weight_grad_infinite_terms(isa):
    """grad_weight is a sum of products: an infinite product gives that infinity, as the
    reference and the exact sum do (SPEC: +-inf give the mathematical limits), not NaN.
    x = -inf with grad 1 contributes -inf; float32 products 1e30 * -1e30 overflow to -inf
    (and so does their exact sum, -1e60). Every other channel stays finite."""
    for dtype in FLOAT_DTYPES:
        x = np.array([[-1.0, -np.inf, -1.0], [-2.0, -3.0, -1.0]], dtype=dtype)
        g = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 1.0]], dtype=dtype)
        _, gw = simdmlp.prelu_backward(g, x, np.array([0.1, 0.2, 0.3]))
        assert gw[0] == -3.0 and gw[2] == -2.0, gw
        assert gw[1] == -np.inf, f"{dtype.__name__} {isa}: grad_weight of a channel with x = -inf is {gw[1]}, not -inf"
        _, gw = simdmlp.prelu_backward(g, x, 0.25)
        assert gw == -np.inf, f"{dtype.__name__} {isa}: scalar grad_weight with x = -inf is {gw}, not -inf"
    big = np.float32(1e30)
    x = np.full(40, -big, np.float32)
    g = np.full(40, big, np.float32)
    for w in (0.25, np.full(40, 0.25)):
        _, gw = simdmlp.prelu_backward(g, x, w)
        with np.errstate(over="ignore"):
            want = reference.prelu_backward(g, x, w)[1]  # -inf: each term overflows
        assert np.all(want == -np.inf)
        assert np.all(gw == -np.inf), f"float32 {isa}: grad_weight {gw} for terms 1e30 * -1e30, not -inf"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_prelu_layouts_same_bits(dtype, isa):
    """Strided, negative-stride, transposed and misaligned x and grad_output; out=, in
    place (forward out=x; backward out=grad_output, out=x): the same bits as contiguous
    for prelu, grad_x and grad_weight (which must not depend on the layout of x)."""
    x = make_inputs(5 * 37, dtype, seed=61).reshape(5, 37)
    g = make_grads(x.size, dtype, seed=61).reshape(x.shape)
    with np.errstate(all="ignore"):
        for w in (0.25, np.linspace(-1, 2, 37)):
            want_y = simdmlp.prelu(x, w)
            want_gx, want_gw = simdmlp.prelu_backward(g, x, w)
            for layout in ("strided", "negative_stride", "transposed", "misaligned"):
                xv, gv = _view(x, layout), _view(g, layout)
                assert_same_bits(simdmlp.prelu(xv, w), want_y, what=f"prelu {isa} {layout}")
                for gg in (g, gv):
                    gx, gw = simdmlp.prelu_backward(gg, xv, w)
                    assert_same_bits(gx, want_gx, what=f"prelu_backward {isa} {layout}: grad_x")
                    assert_same_bits(gw, want_gw, what=f"prelu_backward {isa} {layout}: grad_weight")
            for mis in (0, 2):
                out = np.full(x.shape, 7.0, dtype=dtype)
                out = _misaligned(out, mis) if mis else out
                assert simdmlp.prelu(x, w, out=out) is out
                assert_same_bits(out, want_y, what=f"prelu {isa} out= (offset {mis})")
                r = simdmlp.prelu_backward(g, x, w, out=out)
                assert r[0] is out
                assert_same_bits(out, want_gx, what=f"prelu_backward {isa} out=")
                assert_same_bits(r[1], want_gw, what=f"prelu_backward {isa} out=: grad_weight")
            xc = x.copy()
            assert simdmlp.prelu(xc, w, out=xc) is xc
            assert_same_bits(xc, want_y, what=f"prelu {isa} in place")
            for target in ("grad_output", "x"):
                gc, xc = g.copy(), x.copy()
                out = gc if target == "grad_output" else xc
                r = simdmlp.prelu_backward(gc, xc, w, out=out)
                assert r[0] is out
                assert_same_bits(out, want_gx, what=f"prelu_backward {isa} in place (out={target})")
                assert_same_bits(r[1], want_gw, what=f"prelu_backward {isa} in place (out={target}): grad_weight")


def test_prelu_dtypes_and_empty():
    """ints -> float64, float16 computed in float32 and returned as float16 (grad_weight
    too); lists; empty x gives an empty result and a zero grad_weight of the weight's shape."""
    xi = np.array([[-3, 2, 0], [5, -1, -4]])
    gi = np.array([[1, 2, 3], [4, 5, 6]])
    w = np.array([0.5, 0.25, 2.0])
    assert_same_bits(simdmlp.prelu(xi, w), simdmlp.prelu(xi.astype(np.float64), w), what="int prelu")
    for a, b in zip(simdmlp.prelu_backward(gi, xi, w), simdmlp.prelu_backward(gi.astype(float), xi.astype(float), w)):
        assert_same_bits(a, b, what="int prelu_backward")
    assert_same_bits(simdmlp.prelu(xi.tolist(), w.tolist()), simdmlp.prelu(xi.astype(np.float64), w), what="lists")
    xh, gh = xi.astype(np.float16), gi.astype(np.float16)
    assert_same_bits(simdmlp.prelu(xh, w), simdmlp.prelu(xh.astype(np.float32), w).astype(np.float16), what="float16")
    for a, b in zip(simdmlp.prelu_backward(gh, xh, w), simdmlp.prelu_backward(gh.astype(np.float32), xh.astype(np.float32), w)):
        assert_same_bits(a, b.astype(np.float16), what="float16 prelu_backward")
    for dtype in FLOAT_DTYPES:
        for shape, weight in (((0,), 0.25), ((0, 3), np.ones(3)), ((4, 0), 0.5), ((0, 3), np.array([0.5]))):
            x = np.zeros(shape, dtype)
            y = simdmlp.prelu(x, weight)
            gx, gw = simdmlp.prelu_backward(x, x, weight)
            assert y.shape == shape and y.dtype == dtype and gx.shape == shape and gx.dtype == dtype
            assert gw.shape == np.shape(weight) and gw.dtype == dtype and np.all(gw == 0)
        y = simdmlp.prelu(np.array(-2.0, dtype), 0.5)
        assert y.shape == () and y == -1.0
