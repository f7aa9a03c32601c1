"""Fit the polynomial behind simdmlp's erfc-based GELU (cpp/src/simd/math.inc).

For a >= 0 (a = |x|, x the GELU input) and t = c / (c + a) with c = fl(2 sqrt 2):

    erfc(a / sqrt2) = exp(-a^2 / 2) * t * Q(t)

Q is a polynomial in s = A t + B, the interval of t (a in [0, amax]) mapped to [-1, 1]
(well-conditioned coefficients), interpolated at Chebyshev nodes in 60-digit arithmetic.
Because t is defined from the *rounded* c, the fit absorbs that rounding. The script prints
the coefficients (as C hex floats) and the maximum relative error of t * Q(t) after the
coefficients are rounded to the target precision.  python tools/fit_erfc_poly.py
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 60


def fit(dtype, degree, amax):
    c = mp.mpf(float(dtype(2 * np.sqrt(2.0))))
    a_of = lambda t: c * (1 / t - 1)
    g = lambda t: mp.erfc(a_of(t) / mp.sqrt(2)) * mp.exp(a_of(t) ** 2 / 2) / t
    tlo, thi = c / (c + amax), mp.mpf(1)
    nodes = [(tlo + thi) / 2 + (thi - tlo) / 2 * mp.cos(mp.pi * (2 * k + 1) / (2 * (degree + 1)))
             for k in range(degree + 1)]
    A = dtype(float(2 / (thi - tlo)))
    B = dtype(float(-(thi + tlo) / (thi - tlo)))
    s_of = lambda t: mp.mpf(float(A)) * t + mp.mpf(float(B))
    coef = mp.lu_solve(mp.matrix([[s_of(t) ** j for j in range(degree + 1)] for t in nodes]),
                       mp.matrix([g(t) for t in nodes]))
    rounded = [dtype(float(v)) for v in coef]
    worst = 0
    for t in np.linspace(float(tlo), 1.0, 4000):
        t = mp.mpf(t)
        q = mp.mpf(0)
        for v in reversed(rounded):
            q = q * s_of(t) + mp.mpf(float(v))
        worst = max(worst, abs(q / g(t) - 1))
    return rounded, float(c), float(A), float(B), float(worst)


for name, dtype, degree, amax in (("float", np.float32, 10, 15.0), ("double", np.float64, 28, 39.0)):
    coef, c, A, B, err = fit(dtype, degree, amax)
    eps = np.finfo(dtype).eps
    print(f"{name}: c = {c.hex()}, A = {A.hex()}, B = {B.hex()}, degree {degree}, |x| <= {amax}: "
          f"max rel err {err:.3g} = {err/eps:.3g} eps")
    print("  {" + ", ".join(float(v).hex() for v in coef) + "}")
