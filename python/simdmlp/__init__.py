"""simdmlp: SIMD + OpenMP activations, dense layers and a thin MLP layer for NumPy.

Every activation NAME in ``simdmlp.ACTIVATIONS`` is a function ``simdmlp.NAME(x, *params,
out=None)`` with its vector-Jacobian product ``simdmlp.NAME_backward(grad_output, x,
*params, out=None)``. Kernels are chosen at run time for this CPU (see ``available_isas``
and ``use_isa``) and run on ``get_num_threads()`` threads for large inputs.
``simdmlp.reference`` holds the readable NumPy version of every function.
"""
from __future__ import annotations

import os as _os

from . import _core, reference
from ._core import __version__, available_isas, get_num_threads, set_num_threads

#: Names of the elementwise activations, in the order of cpp/include/simdmlp/activations.def.
ACTIVATIONS: tuple = tuple(_core.ACTIVATIONS)

for _name in ACTIVATIONS:
    globals()[_name] = getattr(_core, _name)
    globals()[_name + "_backward"] = getattr(_core, _name + "_backward")
del _name


class use_isa:
    """Select the kernels' ISA for the whole process: ``"scalar"``, ``"avx2"``,
    ``"avx512"`` or ``"neon"``, as listed by :func:`available_isas`.

    Works as a call (``simdmlp.use_isa("avx2")``) and as a context manager that restores
    the previous ISA on exit (``with simdmlp.use_isa("scalar"): ...``). Raises ValueError
    for an ISA this CPU or build lacks. ``$SIMDMLP_ISA`` sets the ISA at import.
    """

    def __init__(self, name: str):
        if not isinstance(name, str):
            raise TypeError(f"simdmlp.use_isa: name must be a str, got {type(name).__name__}")
        self._previous = _core._get_isa()
        _core._set_isa(name)
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _core._set_isa(self._previous)
        return False

    def __repr__(self):
        return f"simdmlp.use_isa({self.name!r})"


def current_isa() -> str:
    """The ISA whose kernels run now."""
    return _core._get_isa()


def info() -> dict:
    """Facts about this build and machine: version, compiler, OpenMP version (or None),
    the ISA in use, the ISAs this CPU supports, and the thread count."""
    build = _core._build_info()
    return {
        "version": __version__,
        "compiler": build["compiler"],
        "openmp": build["openmp"],
        "isa": _core._get_isa(),
        "isas": available_isas(),
        "num_threads": get_num_threads(),
    }


if _os.environ.get("SIMDMLP_ISA"):
    _core._set_isa(_os.environ["SIMDMLP_ISA"])  # ValueError here beats silently ignoring it

__all__ = [
    "ACTIVATIONS", "__version__", "available_isas", "current_isa", "get_num_threads", "info",
    "set_num_threads", "use_isa",
    *ACTIVATIONS, *(n + "_backward" for n in ACTIVATIONS),
]
