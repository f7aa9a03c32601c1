"""Fit the polynomial behind simdmlp's division-free float log1p on [0, 1]
(log1p_unit_poly in cpp/src/simd/math.inc: softplus and log_sigmoid, beta = 1).

    log1p(e) = e + e^2 H(v),   v = 2e - 1 in [-1, 1],   H(e) = (log1p(e) - e) / e^2

H is smooth on [0, 1] (in [-1/2, -0.307]); it is interpolated at Chebyshev nodes of v in
50-digit arithmetic (near-minimax), the coefficients are rounded to float, and the script
evaluates e + e^2 H exactly as the kernel does (Horner in float fmas, then fma(e*e, H, e))
over a dense set of float e and prints the maximum error in ulp of the correctly rounded
log1p(e). The leading e is exact, so H's error is damped by e^2 / log1p(e) <= 1.45.

    python tools/fit_log1p_poly.py
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 50


def h_exact(e):
    e = mp.mpf(e)
    if e == 0:
        return mp.mpf(-1) / 2
    return (mp.log1p(e) - e) / (e * e)


def fit(degree):
    """Interpolate H at the degree + 1 Chebyshev nodes of v in [-1, 1] (e = (v + 1) / 2)."""
    nodes = [mp.cos(mp.pi * (2 * k + 1) / (2 * (degree + 1))) for k in range(degree + 1)]
    A = mp.matrix([[v**j for j in range(degree + 1)] for v in nodes])
    return list(mp.lu_solve(A, mp.matrix([h_exact((v + 1) / 2) for v in nodes])))


def check(coefs):
    """Max error (ulp of the correctly rounded float log1p) of the float evaluation."""
    f32 = np.float32
    c = [f32(float(x)) for x in coefs]
    rng = np.random.default_rng(0)
    e = np.concatenate([rng.random(400000), np.linspace(0, 1, 400001),
                        2.0 ** -np.arange(1, 27)]).astype(f32)
    e = np.unique(e[e >= 2.0**-26])
    v = (f32(2) * e - f32(1)).astype(f32)  # exact: fma-free, e in [2^-26, 1]
    p = np.full_like(e, c[-1])
    for ck in reversed(c[:-1]):
        p = (p.astype(np.float64) * v + np.float64(ck)).astype(f32)  # one fma: one rounding
    ee = (e * e).astype(f32)
    w = (ee.astype(np.float64) * p + e).astype(f32)  # fma(e*e, H, e)
    exact = np.log1p(e.astype(np.float64))  # float64 log1p: far below float's ulp
    ulp = np.spacing(exact.astype(f32)).astype(np.float64)
    err = np.abs(w.astype(np.float64) - exact) / ulp
    i = int(np.argmax(err))
    return c, float(err[i]), float(e[i])


if __name__ == "__main__":
    for deg in (8, 9):
        c, err, at = check(fit(deg))
        print(f"float: H degree {deg}, max error {err:.3f} ulp (at e = {at:.6g})")
        print("  " + ", ".join(float(x).hex().replace("0000000p", "p") + "f" for x in c))
