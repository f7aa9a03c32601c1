"""Fit the tables behind simdmlp's float GELU (both forms), sigmoid, silu, softplus,
log_sigmoid, mish and tanh on AVX-512 (the *Table structs of cpp/src/simd/lut_tables.inc,
read by lut_poly in math.inc; 32 entries each, one register lookup apiece):

    H(a) = Phi(-a) exp(a^2 / 2) = erfc(a / sqrt 2) exp(a^2 / 2) / 2,   a in [3.9375, 15.5)
        (NormalTail: the tail factor of Phi(-a) = H(a) exp(-a^2/2) for the lanes beyond the
        near tables, |x| >= 3.9375, both directions)
    P(a) = Phi(-a) = erfc(a / sqrt 2) / 2,                             a in [0, 3.9375)
        (the forward's near path: the lanes with |x| < 3.9375)
    D(a) = a phi(a) - Phi(-a),  phi(a) = exp(-a^2/2) / sqrt(2 pi),     a in [0, 3.9375)
        (the backward's near path: gelu'(x) = 1 + D(|x|) for x >= 0, -D(|x|) for x < 0;
        D has a zero near a = 0.75, so its error is also given in units of 2^-24, which
        SPEC's absolute term 2^-22 |dy| covers four times over)
    T(a) = sigmoid(-w(a)), w = 2 sqrt(2/pi) (a + 0.044715 a^3)           a in [0, 3.9375)
    Dt(a) = a w'(a) T (1 - T) - T                                       a in [0, 3.9375)
        (the same two near paths for gelu's tanh form: x (1 - T) or x T, and 1 + Dt or -Dt)
    S(a) = sigmoid(-a) = 1 / (1 + exp(a)),                              a in [0, 15.75)
    S'(a) = S(a) (1 - S(a)) = sigmoid'(a)                               a in [0, 15.75)
        (sigmoid's near paths, |x| < 15.75: sigmoid(x) = 1 - S(|x|) or S(|x|), rounded
        once; sigmoid'(x) = S'(|x|))
    Ds(a) = a S'(a) - S(a)                                              a in [0, 15.75)
        (silu's backward near path: silu'(x) = 1 + Ds(|x|) for x >= 0, -Ds(|x|) for x < 0;
        its forward's is S: x (1 - S) or x S, as GELU's; Ds crosses 0 near a = 1.28)
    L(a) = log1p(exp(-a)) = softplus(-a)                                a in [0, 15.75)
        (softplus's (beta = 1) and log_sigmoid's forward near paths: max(x, 0) + L(|x|),
        min(x, 0) - L(|x|); their backwards read S above: sigmoid(x), sigmoid(-x))
    h(a) = 1 - tanh(softplus(a)),  q(a) = tanh(softplus(-a))            a in [0, 15.5)
        (mish's forward near path, one table of step 1 for both: x - x h(x) for x > 0,
        x q(-x) for x <= 0)
    1 - mish'(a),  mish'(-a)                                            a in [0, 15.5)
        (mish's backward near path, the same layout: 1 - it for x > 0, it for x <= 0;
        both cross 0, at a = 0.796 and 1.192)
    Th(a) = tanh(a)                                                     a in [0, 9.84375)
        (tanh's forward for every x, |x| capped at 9.5 where tanh rounds to 1)
    Th'(a) = 1 - tanh(a)^2                                              a in [0, 11.8125)
        (tanh's backward near path, |x| < 11.8125)

All are smooth (entire) on these ranges. The kernel picks the interval by the nearest
multiple of the step (3/8 for H, 1/8 for the GELU near tables, 1/2 for sigmoid's and silu's,
5/16 for tanh's value, 3/8 for its slope), k = round(a / step), reads entry
k mod 32 (lut32 reads the key's low 5 bits: a table covers any 32 consecutive k, for H
k = 10..41, of which the kernel reads 11..40: a capped at 15), and evaluates a polynomial in u = a - k step (exact, |u| <= step/2) by Horner
in float fmas, with the constant term as a float pair (c0 + c0lo) so that its rounding does
not add half an ulp:

    F = c0 + (c0lo + u (c1 + u (c2 + ...)))

except for the backward's sigmoid, silu and tanh tables (SPEC's bound there is 8 ulp) and
tanh's forward (the same maximum either way: its worst inputs are at small a, where c0 = 0),
which save a lookup and an add by a plain c0:  F = c0 + u (c1 + u (c2 + ...)).

Each interval's polynomial interpolates F at the Chebyshev nodes of u (50-digit
arithmetic, near-minimax); the coefficients are rounded to float, and the script evaluates
the kernel's float arithmetic over a dense set of float a, prints the maximum error in ulp
of the correctly rounded F, then the tables as C++ (rows c0..cD, then c0lo).

    python tools/fit_lut_tables.py > cpp/src/simd/lut_tables.inc
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 50
INTERVALS = 32


def h_exact(a):
    a = mp.mpf(a)
    return mp.erfc(a / mp.sqrt(2)) * mp.exp(a * a / 2) / 2


def p_exact(a):
    return mp.erfc(mp.mpf(a) / mp.sqrt(2)) / 2


def d_exact(a):
    a = mp.mpf(a)
    return a * mp.exp(-a * a / 2) / mp.sqrt(2 * mp.pi) - p_exact(a)


def w_tanh(a):
    """w = 2u, u = sqrt(2/pi) (a + 0.044715 a^3): gelu's tanh form is x sigmoid(w(x))."""
    return 2 * mp.sqrt(2 / mp.pi) * (a + mp.mpf("0.044715") * a**3)


def t_exact(a):
    return 1 / (1 + mp.exp(w_tanh(mp.mpf(a))))  # sigmoid(-w(a))


def dt_exact(a):
    a = mp.mpf(a)
    t = t_exact(a)
    wp = 2 * mp.sqrt(2 / mp.pi) * (1 + 3 * mp.mpf("0.044715") * a * a)
    return a * wp * t * (1 - t) - t


def sigmoid_neg(a):
    return 1 / (1 + mp.exp(mp.mpf(a)))


def sigmoid_slope(a):
    s = sigmoid_neg(a)
    return s * (1 - s)


def softplus_neg(a):
    """log1p(exp(-a)) = softplus(-a): softplus(x) = max(x, 0) + it, log_sigmoid(x) = min(x, 0) - it."""
    return mp.log1p(mp.exp(-mp.mpf(a)))


def silu_slope(a):
    a = mp.mpf(a)
    return a * sigmoid_slope(a) - sigmoid_neg(a)


def mish_h(a):
    """1 - tanh(softplus(a)) = 2 / ((1 + e^a)^2 + 1): mish(x) = x - x h(x) for x > 0."""
    a = mp.mpf(a)
    return 2 / ((1 + mp.exp(a)) ** 2 + 1)


def mish_q(a):
    """tanh(softplus(-a)): mish(x) = x q(-x) for x <= 0."""
    a = mp.mpf(a)
    return mp.tanh(mp.log1p(mp.exp(-a)))


def mish_slope(x):
    """mish'(x) = tanh(softplus(x)) + x sech^2(softplus(x)) sigmoid(x)."""
    x = mp.mpf(x)
    sp = mp.log1p(mp.exp(x))
    return mp.tanh(sp) + x * mp.sech(sp) ** 2 / (1 + mp.exp(-x))


def mish_slope_h(a):
    """1 - mish'(a): mish'(x) = 1 - it for x > 0 (it is small, and negative past a = 0.796)."""
    return 1 - mish_slope(a)


def mish_slope_q(a):
    """mish'(-a): mish'(x) for x <= 0 (it crosses 0 near x = -1.19)."""
    return mish_slope(-mp.mpf(a))


def tanh_exact(a):
    return mp.tanh(mp.mpf(a))


def tanh_slope(a):
    return 1 / mp.cosh(mp.mpf(a)) ** 2


# name, function, step, degree, range checked (start <= a < end; the kernel caps H's a at
# 15), whether c0 is a float pair (c0 + c0lo): the intervals are k = round(start / step) .. + 31.
TABLES = [("NormalTailTable", h_exact, mp.mpf(3) / 8, 4, 3.9375, 15.5, True),
          ("NormalNearTable", p_exact, mp.mpf(1) / 8, 5, 0, 3.9375, True),
          ("GeluSlopeTable", d_exact, mp.mpf(1) / 8, 5, 0, 3.9375, True),
          ("GeluTanhNearTable", t_exact, mp.mpf(1) / 8, 5, 0, 3.9375, True),
          ("GeluTanhSlopeTable", dt_exact, mp.mpf(1) / 8, 5, 0, 3.9375, True),
          ("SigmoidNearTable", sigmoid_neg, mp.mpf(1) / 2, 5, 0, 15.75, True),
          ("SigmoidSlopeTable", sigmoid_slope, mp.mpf(1) / 2, 5, 0, 15.75, False),
          ("SiluSlopeTable", silu_slope, mp.mpf(1) / 2, 5, 0, 15.75, False),
          ("SoftplusNegTable", softplus_neg, mp.mpf(1) / 2, 5, 0, 15.75, True),
          ("TanhTable", tanh_exact, mp.mpf(5) / 16, 6, 0, 9.84375, False),
          ("TanhSlopeTable", tanh_slope, mp.mpf(3) / 8, 6, 0, 11.8125, False)]


def fit(f, center, step, degree):
    nodes = [step / 2 * mp.cos(mp.pi * (2 * k + 1) / (2 * (degree + 1))) for k in range(degree + 1)]
    A = mp.matrix([[u**j for j in range(degree + 1)] for u in nodes])
    return list(mp.lu_solve(A, mp.matrix([f(center + u) for u in nodes])))


def table(f, step, degree, k0, lo=True):
    """rows[j][k % 32]: coefficient j of interval k = k0..k0+31 (j = 0..degree), then (lo)
    the c0 low parts."""
    f32 = np.float32
    rows = [[0.0] * INTERVALS for _ in range(degree + 2)]
    for k in range(k0, k0 + INTERVALS):
        c = fit(f, k * step, step, degree)
        s = k % INTERVALS
        for j in range(degree + 1):
            rows[j][s] = float(f32(float(c[j])))
        rows[degree + 1][s] = float(f32(float(c[0] - mp.mpf(rows[0][s]))))
    return rows if lo else rows[:-1]


def evaluate(rows, step, a, lo=True):
    """The kernel's float arithmetic (one rounding per fma) on float32 a."""
    f32, f64 = np.float32, np.float64
    degree = len(rows) - (2 if lo else 1)
    # the kernel's key: fma(a, 1/step rounded to float, shifter), one rounding to an integer
    k = np.rint(a.astype(f64) * float(f32(1 / float(step)))).astype(int)
    u = (a.astype(f64) - k * float(step)).astype(f32)  # exact
    c = [np.array(r, dtype=f32)[k % INTERVALS] for r in rows]
    p = c[degree]
    for j in range(degree - 1, 0, -1):
        p = (p.astype(f64) * u + c[j]).astype(f32)
    if not lo:
        return (p.astype(f64) * u + c[0]).astype(f32)
    p = (p.astype(f64) * u + c[degree + 1]).astype(f32)
    return (c[0].astype(f64) + p).astype(f32)


def check(f, rows, step, start, end, samples=200000, lo=True):
    rng = np.random.default_rng(0)
    s = float(step)
    k0 = round(start / s)
    a = np.concatenate([rng.uniform(start, end, samples), (np.arange(2 * INTERVALS) + 2 * k0 + 0.5) * s / 2,
                        (np.arange(INTERVALS) + k0) * s + s / 2, 2.0 ** -np.arange(1, 40)])
    a = np.unique(a.astype(np.float32))
    a = a[(a >= start) & (a < end)]
    got = evaluate(rows, step, a, lo)
    idx = np.linspace(0, len(a) - 1, 6000).astype(int)  # mpmath reference on a subset
    exact = np.array([float(f(float(v))) for v in a[idx]])
    ulp = np.spacing(exact.astype(np.float32)).astype(np.float64)
    diff = np.abs(got[idx].astype(np.float64) - exact)
    err = diff / ulp
    i = int(np.argmax(err))
    return float(err[i]), float(a[idx][i]), float(diff.max() / 2.0**-24)


def cxx(name, rows, step, lo=True):
    def fmt(v):
        return float(v).hex().replace("0000000p", "p") + "f"
    degree = len(rows) - (2 if lo else 1)
    out = [f"struct {name} {{", f"  static constexpr float step = {float(step)!r}f;",
           f"  static constexpr bool c0lo = {'true' if lo else 'false'};",
           f"  alignas(64) static constexpr float c[{len(rows)}][{INTERVALS}] = {{"]
    for j, vals in enumerate(rows):
        out.append("  {  // " + (f"c{j}" if j <= degree else "c0lo"))
        for i in range(0, INTERVALS, 4):
            out.append("  " + ", ".join(fmt(v) for v in vals[i:i + 4]) + ",")
        out.append("  }," if j < len(rows) - 1 else "  }};")
    out.append("};")
    return "\n".join(out)


# Two functions in one table of step 1: entries 0..15 the first (k = 0..15, a < 15.5),
# 16..31 the second; the kernel adds 16 to the key for the second. name, f, g, degree, end;
# the first's error is also given in 2^-24 absolute (mish's h: x - x h, h < 0.4, needs no
# relative accuracy where h is tiny).
COMBINED = [("MishGateTable", mish_h, mish_q, 7, 15.5), ("MishSlopeTable", mish_slope_h, mish_slope_q, 7, 15.5)]


def combined(f, g, degree):
    rf, rg = table(f, mp.mpf(1), degree, 0), table(g, mp.mpf(1), degree, 0)
    return [a[:16] + b[:16] for a, b in zip(rf, rg)]


HEADER = """// Generated by tools/fit_lut_tables.py (python tools/fit_lut_tables.py > this file), with
// the error of each table in float arithmetic. Included by math.inc inside each ISA's
// namespace; read only through lut32 (AVX-512 float), see lut_poly there."""

if __name__ == "__main__":
    print(HEADER)
    for name, f, step, degree, start, end, lo in TABLES:
        rows = table(f, step, degree, round(start / float(step)), lo)
        err, at, absolute = check(f, rows, step, start, end, lo=lo)
        print(f"// {name}: step {float(step)}, degree {degree}, max error {err:.3f} ulp (at a = {at:.6g}), "
              f"{absolute:.3f} x 2^-24 absolute")
        print(cxx(name, rows, step, lo))
    for name, f, g, degree, end in COMBINED:
        rows = combined(f, g, degree)
        ef, af, absf = check(f, rows, 1, 0, end)
        eg, ag, absg = check(g, [r[16:] + r[:16] for r in rows], 1, 0, end)
        print(f"// {name}: step 1.0, degree {degree}, entries 0..15 {f.__name__}: max error {ef:.3f} ulp "
              f"(at a = {af:.6g}), {absf:.3f} x 2^-24 absolute; 16..31 {g.__name__}: {eg:.3f} ulp (at a = {ag:.6g}), "
              f"{absg:.3f} x 2^-24 absolute")
        print(cxx(name, rows, 1))
