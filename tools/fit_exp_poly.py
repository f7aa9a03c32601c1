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


def fit(degree):
    nodes = [H * mp.cos(mp.pi * (2 * k + 1) / (2 * (degree + 1))) for k in range(degree + 1)]
    A = mp.matrix([[x**j for j in range(degree + 1)] for x in nodes])
    b = mp.matrix([q_exact(x) for x in nodes])
    return list(mp.lu_solve(A, b))


def check(coefs, dtype):
    c = [dtype(float(v)) for v in coefs]
    worst = mp.mpf(0)
    for r in np.linspace(-float(H), float(H), 2001):
        r = mp.mpf(float(dtype(r)))
        if r == 0:
            continue
        q = mp.mpf(0)
        for v in reversed(c):
            q = q * r + mp.mpf(float(v))
        worst = max(worst, abs((r + r * r * q) - mp.expm1(r)) / abs(mp.expm1(r)))
    return c, worst


for name, dtype, deg in (("float", np.float32, 4), ("double", np.float64, 9)):
    c, err = check(fit(deg), dtype)
    eps = np.finfo(dtype).eps
    print(f"{name}: degree {deg} (exp degree {deg + 2}), max rel err {float(err):.3g} = {float(err)/eps:.3g} eps")
    print("  " + ", ".join(float(v).hex() for v in c))


# The fast core's P: exp(r) = 1 + r P(r), P interpolating (exp(r) - 1)/r at Chebyshev nodes.
def p_exact(r):
    if abs(r) < mp.mpf(10) ** -30:
        return 1 + r / 2 + r * r / 6
    return mp.expm1(r) / r


def fit_p(degree):
    nodes = [H * mp.cos(mp.pi * (2 * k + 1) / (2 * (degree + 1))) for k in range(degree + 1)]
    A = mp.matrix([[x**j for j in range(degree + 1)] for x in nodes])
    return list(mp.lu_solve(A, mp.matrix([p_exact(x) for x in nodes])))


def check_p(coefs, dtype):
    c = [dtype(float(v)) for v in coefs]
    worst = mp.mpf(0)
    for r in np.linspace(-float(H) * 1.001, float(H) * 1.001, 2001):
        r = mp.mpf(float(dtype(r)))
        p = mp.mpf(0)
        for v in reversed(c):
            p = p * r + mp.mpf(float(v))
        worst = max(worst, abs((1 + r * p) - mp.exp(r)) / mp.exp(r))
    return c, worst


for name, dtype, deg in (("float", np.float32, 5), ("double", np.float64, 10)):
    c, err = check_p(fit_p(deg), dtype)
    eps = np.finfo(dtype).eps
    print(f"{name} fast: exp degree {deg + 1}, max rel err {float(err):.3g} = {float(err)/eps:.3g} eps")
    print("  " + ", ".join(float(v).hex() for v in c))
