"""Package surface (SPEC.md "Package"): version, info(), `python -m simdmlp info`, ISA
selection (available_isas, use_isa, current_isa, $SIMDMLP_ISA) and the activation list."""
from __future__ import annotations

import inspect
import json
import os
import platform
import re
import subprocess
import sys

import numpy as np
import pytest

import simdmlp
from conftest import ELEMENTWISE_NAMES, FACTS
from simdmlp import reference

KNOWN_ISAS = ("scalar", "avx2", "avx512", "neon")
IS_X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "i386")
IS_ARM64 = platform.machine().lower() in ("aarch64", "arm64")


def _env(**values):
    env = {k: v for k, v in os.environ.items() if k not in ("SIMDMLP_ISA", "SIMDMLP_NUM_THREADS")}
    env.update(values)
    return env


def _python(code, env=None, *args):
    return subprocess.run([sys.executable, *args] + (["-c", code] if code else []),
                          capture_output=True, text=True, timeout=60, env=env)


# ------------------------------------------------------------------- version, info
def test_version():
    assert isinstance(simdmlp.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+([.+-]?\w+)*", simdmlp.__version__), simdmlp.__version__
    from importlib.metadata import version
    assert simdmlp.__version__ == version("simdmlp")


def test_info_keys_and_types():
    info = simdmlp.info()
    assert set(info) == {"version", "compiler", "openmp", "isa", "isas", "num_threads"}
    assert info["version"] == simdmlp.__version__
    assert isinstance(info["compiler"], str) and info["compiler"]
    assert info["openmp"] is None or (isinstance(info["openmp"], int) and info["openmp"] > 0)
    assert info["isa"] == simdmlp.current_isa()
    assert info["isas"] == simdmlp.available_isas()
    assert isinstance(info["num_threads"], int) and info["num_threads"] == simdmlp.get_num_threads() >= 1
    json.dumps(info)  # JSON-serialisable as is


def test_info_follows_use_isa(isa):
    assert simdmlp.info()["isa"] == isa


def test_cli_info_is_json():
    proc = _python(None, _env(), "-m", "simdmlp", "info")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    expected = simdmlp.info()
    assert set(data) == set(expected)
    for key in ("version", "compiler", "openmp", "isas"):
        assert data[key] == expected[key], key
    assert data["isa"] == simdmlp.available_isas()[-1]  # no $SIMDMLP_ISA: the best one


def test_cli_info_honours_environment():
    proc = _python(None, _env(SIMDMLP_ISA="scalar", SIMDMLP_NUM_THREADS="3"), "-m", "simdmlp", "info")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["isa"] == "scalar"
    assert data["num_threads"] == (3 if data["openmp"] is not None else 1)


# ----------------------------------------------------------------------- ISAs
def test_available_isas_order():
    isas = simdmlp.available_isas()
    assert isinstance(isas, list) and isas[0] == "scalar"
    assert len(set(isas)) == len(isas)
    assert set(isas) <= set(KNOWN_ISAS)
    order = [i for i in KNOWN_ISAS if i in isas]
    assert isas == order, f"not listed worst to best: {isas}"
    if IS_X86:
        assert "neon" not in isas
    if IS_ARM64:
        assert isas == ["scalar", "neon"]


@pytest.mark.skipif(not (IS_X86 and sys.platform.startswith("linux")), reason="reads /proc/cpuinfo flags (x86 Linux)")
def test_available_isas_match_cpu_flags():
    with open("/proc/cpuinfo") as fh:
        flags = set(next(line for line in fh if line.startswith("flags")).split(":", 1)[1].split())
    has_avx2 = {"avx2", "fma", "bmi2"} <= flags
    has_avx512 = has_avx2 and {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags
    isas = simdmlp.available_isas()
    assert ("avx2" in isas) == has_avx2
    assert ("avx512" in isas) == has_avx512


def test_default_isa_is_best_in_fresh_process():
    proc = _python("import simdmlp; print(simdmlp.current_isa())", _env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == simdmlp.available_isas()[-1]


@pytest.mark.parametrize("name", simdmlp.available_isas())
def test_use_isa_as_call(name):
    before = simdmlp.current_isa()
    simdmlp.use_isa(name)
    assert simdmlp.current_isa() == name
    simdmlp.use_isa(before)
    assert simdmlp.current_isa() == before


@pytest.mark.parametrize("name", simdmlp.available_isas())
def test_use_isa_as_context_manager(name):
    outer = simdmlp.available_isas()[-1] if name == "scalar" else "scalar"
    simdmlp.use_isa(outer)
    with simdmlp.use_isa(name):
        assert simdmlp.current_isa() == name
        with simdmlp.use_isa("scalar"):
            assert simdmlp.current_isa() == "scalar"
        assert simdmlp.current_isa() == name
    assert simdmlp.current_isa() == outer


def test_use_isa_restores_on_exception():
    best = simdmlp.available_isas()[-1]
    simdmlp.use_isa(best)
    with pytest.raises(KeyError):
        with simdmlp.use_isa("scalar"):
            raise KeyError("boom")
    assert simdmlp.current_isa() == best


def _unsupported_known_isas():
    isas = simdmlp.available_isas()
    return [i for i in KNOWN_ISAS if i not in isas]


@pytest.mark.parametrize("name", _unsupported_known_isas() + ["sse9", "", "AVX2", "avx512 ", "scalar\0"])
def test_use_isa_rejects_unsupported_and_unknown(name):
    before = simdmlp.current_isa()
    with pytest.raises(ValueError, match="simdmlp.use_isa"):
        simdmlp.use_isa(name)
    with pytest.raises(ValueError):
        with simdmlp.use_isa(name):
            pytest.fail("entered the context of an unsupported ISA")
    assert simdmlp.current_isa() == before


@pytest.mark.skipif(not IS_X86, reason="x86 only")
def test_neon_rejected_on_x86():
    with pytest.raises(ValueError, match="neon"):
        simdmlp.use_isa("neon")


def test_use_isa_rejects_non_str():
    with pytest.raises(TypeError):
        simdmlp.use_isa(3)


@pytest.mark.parametrize("name", simdmlp.available_isas())
def test_env_isa_honoured_at_import(name):
    proc = _python("import simdmlp; print(simdmlp.current_isa(), simdmlp.info()['isa'])",
                   _env(SIMDMLP_ISA=name))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [name, name]


@pytest.mark.parametrize("value", ["bogus"] + _unsupported_known_isas())
def test_env_isa_invalid_raises_at_import(value):
    proc = _python("import simdmlp", _env(SIMDMLP_ISA=value))
    assert proc.returncode != 0
    assert "ValueError" in proc.stderr and value in proc.stderr, proc.stderr


def test_isa_choice_changes_nothing_observable_for_exact_ops():
    """Sanity: every ISA gives identical exact-op results (they are all exact)."""
    x = np.linspace(-3, 3, 1001)
    results = []
    for name in simdmlp.available_isas():
        with simdmlp.use_isa(name):
            results.append(simdmlp.relu(x))
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


# ------------------------------------------------------------------- activations
def test_activations_tuple():
    acts = simdmlp.ACTIVATIONS
    assert isinstance(acts, tuple) and len(acts) > 0
    assert len(set(acts)) == len(acts)
    assert all(isinstance(a, str) and a.isidentifier() for a in acts)
    assert {"identity", "step", "relu", "sigmoid", "tanh"} <= set(acts)


def test_activations_are_exactly_the_forward_backward_pairs():
    public = {n for n in dir(simdmlp) if not n.startswith("_")}
    pairs = {n for n in public
             if n + "_backward" in public and callable(getattr(simdmlp, n))
             and callable(getattr(simdmlp, n + "_backward"))}
    # dense / dense_backward is the dense layer's pair (SPEC "Matrix multiply and dense
    # layer"), not an activation
    assert pairs - {"dense"} == set(simdmlp.ACTIVATIONS)
    assert set(simdmlp.ACTIVATIONS) | {n + "_backward" for n in simdmlp.ACTIVATIONS} <= set(simdmlp.__all__)


@pytest.mark.parametrize("name", simdmlp.ACTIVATIONS)
def test_every_activation_has_a_reference(name):
    assert callable(getattr(reference, name, None)), f"simdmlp.reference.{name} missing"
    assert callable(getattr(reference, name + "_backward", None)), f"simdmlp.reference.{name}_backward missing"


@pytest.mark.parametrize("name", ELEMENTWISE_NAMES)
def test_every_elementwise_activation_has_test_facts(name):
    assert name in FACTS, (f"tests/conftest.py FACTS has no entry for {name!r}: its float64 "
                           "(mpmath) and special-value checks cannot run")


@pytest.mark.parametrize("name", simdmlp.ACTIVATIONS)
def test_activation_docstrings(name):
    for fn in (getattr(simdmlp, name), getattr(simdmlp, name + "_backward")):
        doc = inspect.getdoc(fn) or ""
        assert name in doc and "out" in doc, f"{fn.__name__} docstring: {doc!r}"


def test_no_unknown_facts_entries():
    """FACTS must not keep entries for activations that no longer exist."""
    assert set(FACTS) <= set(ELEMENTWISE_NAMES)


def test_elementwise_names_are_activations():
    assert set(ELEMENTWISE_NAMES) <= set(simdmlp.ACTIVATIONS)
