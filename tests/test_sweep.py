"""Stratified float32 accuracy sweep of every elementwise activation, forward and
backward, on every ISA this CPU has (the CI-sized version of bench/sweep_ulp.py --full).

Patterns: every 4096th bit pattern (1M inputs, all exponents and both signs), plus every
pattern within 2048 ulps of each kink and saturation threshold. References are the
double-precision formulas in cpp/src/sweep.cpp. Bounds from SPEC: forward 4 ulp of the
correctly rounded value; backward |got - d| <= 8 ulp(d) + 2^-22 (grad_output = 1).
"""
import struct

import numpy as np
import pytest

import simdmlp
from simdmlp import _core

STRIDE = 4096
WINDOW = 2048
KINKS = [0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 0.5, -2.0,
         -87.3365478515625, -103.97208404541016, 17.32868003845215, 9.010913848876953,
         -17.33, -37.0, 88.72, -9.0, 20.0, -14.5, 3.4e38, 1.2e-38, 1e-45]

# (name, params): the defaults plus non-default parameters where a parameter changes the
# algorithm's path (scaling by beta, both GELU forms, asymmetric clipping).
CASES = [(name, None) for name in simdmlp.ELEMENTWISE] + [
    ("gelu", {"approximate": "tanh"}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.0}),
    ("swish", {"beta": 0.5}),
    ("swish", {"beta": 3.0}),
    # not a float32: the kernel and the reference must both use float32(1.7); the tail
    # x e^(1.7x) turns a difference in beta into ~40 ulp (CMakeLists.txt, gcc 12's SLP)
    ("swish", {"beta": 1.7}),
    ("softplus", {"beta": 0.5}),
    ("softplus", {"beta": 4.0}),
    ("hardtanh", {"min_val": -2.0, "max_val": 0.5}),
]


def _params(name, given):
    info = {i["name"]: i["params"] for i in _core._ACTIVATION_INFO}[name]
    values = dict(info, **(given or {}))
    if name == "gelu":
        return (1.0 if values["approximate"] == "tanh" else 0.0), 0.0
    vals = [float(v) for v in values.values()] + [0.0, 0.0]
    return vals[0], vals[1]


def _bits(v):
    return struct.unpack("<I", struct.pack("<f", v))[0]


def _ranges():
    yield 0, 1 << 32, STRIDE
    for k in KINKS:
        for v in (k, -k):
            b = _bits(v)
            yield max(0, b - WINDOW), min(1 << 32, b + WINDOW), 1


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize("name,given", CASES, ids=[f"{n}-{g}" if g else n for n, g in CASES])
def test_stratified_sweep(name, given, backward):
    p0, p1 = _params(name, given)
    bound = 1.0 if backward else 4.0
    isas = simdmlp.available_isas()
    worst = {isa: (0.0, 0) for isa in isas}
    for begin, end, stride in _ranges():
        result = _core._ulp_sweep(name, backward, p0, p1, begin, end, stride, bound, isas)
        for isa, r in result.items():
            x_bad = struct.unpack("<f", struct.pack("<I", r["first_mismatch_bits"]))[0]
            assert r["nan_mismatch"] == 0, f"{name} {isa}: NaN/inf mismatch at x = {x_bad!r}"
            x = struct.unpack("<f", struct.pack("<I", r["worst_bits"]))[0]
            assert r["over"] == 0, f"{name} {isa}: error {r['max_err']:.3f} > {bound} at x = {x!r}"
            if r["max_err"] > worst[isa][0]:
                worst[isa] = (r["max_err"], x)
    assert all(w[0] <= bound for w in worst.values())


def test_sweep_reports_errors():
    """The sweep can fail: a bound of 0 ulp must flag sigmoid's rounding errors."""
    r = _core._ulp_sweep("sigmoid", False, 0.0, 0.0, 0, 1 << 32, 1 << 20, 0.0, ["scalar"])
    assert r["scalar"]["over"] > 0 and r["scalar"]["max_err"] > 0
