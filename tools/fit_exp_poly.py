"""Fit the polynomials behind simdmlp's exp/expm1 core (cpp/src/simd/math.inc).

    expm1(r) = r + r^2 * Q(r),   exp(r) = 1 + expm1(r),   |r| <= ln2/2
    exp(r) = 1 + r * P(r)        (the fast core, MathConst::pe: exp itself, one polynomial)

Q is interpolated at Chebyshev nodes in 100-digit arithmetic (near-minimax), its
coefficients are rounded to the target precision, and the script prints the maximum
relative error of r + r^2*Q(r) against mpmath over a dense grid. Run it to regenerate
the constants:  python tools/fit_exp_poly.py
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 100
H = mp.log(2) / 2


def q_exact(r):
    if abs(r) < mp.mpf(10) ** -30:  # the middle Chebyshev node is ~1e-101: use the series
        return mp.mpf(1) / 2 + r / 6 + r * r / 24
    return (mp.expm1(r) - r) / (r * r)


def p_exact(r):
    if abs(r) < mp.mpf(10) ** -30:
        return 1 + r / 2 + r * r / 6
    return mp.expm1(r) / r


def fit(target, degree):
    """Interpolate target at the degree + 1 Chebyshev nodes of [-H, H] (near-minimax)."""
    nodes = [H * mp.cos(mp.pi * (2 * k + 1) / (2 * (degree + 1))) for k in range(degree + 1)]
    A = mp.matrix([[x**j for j in range(degree + 1)] for x in nodes])
    return list(mp.lu_solve(A, mp.matrix([target(x) for x in nodes])))


def check(coefs, dtype, approx, exact, span=1.0):
    """Round the coefficients to dtype; max relative error of approx(r, poly(r)) against
    exact(r) on a dense grid of dtype values in [-span H, span H] (r = 0 skipped)."""
    c = [dtype(float(v)) for v in coefs]
    worst = mp.mpf(0)
    for r in np.linspace(-float(H) * span, float(H) * span, 2001):
        r = mp.mpf(float(dtype(r)))
        if r == 0:
            continue
        q = mp.mpf(0)
        for v in reversed(c):
            q = q * r + mp.mpf(float(v))
        worst = max(worst, abs(approx(r, q) - exact(r)) / abs(exact(r)))
    return c, worst


# expm1(r) = r + r^2 Q(r)
for name, dtype, deg in (("float", np.float32, 4), ("double", np.float64, 9)):
    c, err = check(fit(q_exact, deg), dtype, lambda r, q: r + r * r * q, mp.expm1)
    eps = np.finfo(dtype).eps
    print(f"{name}: degree {deg} (exp degree {deg + 2}), max rel err {float(err):.3g} = {float(err)/eps:.3g} eps")
    print("  " + ", ".join(float(v).hex() for v in c))

# The fast core: exp(r) = 1 + r P(r) (MathConst::pe), checked a little past ln2/2 (the
# shifter's n may leave |r| just above it)
for name, dtype, deg in (("float", np.float32, 5), ("double", np.float64, 10)):
    c, err = check(fit(p_exact, deg), dtype, lambda r, p: 1 + r * p, mp.exp, span=1.001)
    eps = np.finfo(dtype).eps
    print(f"{name} fast: exp degree {deg + 1}, max rel err {float(err):.3g} = {float(err)/eps:.3g} eps")
    print("  " + ", ".join(float(v).hex() for v in c))
