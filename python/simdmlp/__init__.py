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

#: Elementwise activations (cpp/include/simdmlp/activations.def, in that order): each is
#: ``NAME(x, *params, out=None)`` with ``NAME_backward(grad_output, x, *params, out=None)``.
ELEMENTWISE: tuple = tuple(_core.ACTIVATIONS)
#: Every activation: the elementwise ones plus prelu (a weight per channel) and softmax /
#: log_softmax (along an axis).
ACTIVATIONS: tuple = ELEMENTWISE + tuple(_core.ROWWISE_ACTIVATIONS)

for _name in ACTIVATIONS:
    globals()[_name] = getattr(_core, _name)
    globals()[_name + "_backward"] = getattr(_core, _name + "_backward")
del _name

# Dense layer on simdmlp's own packed GEMM (cpp/src/gemm/): y = act(x @ W + b).
from ._core import PackedWeights, dense, dense_backward, dense_forward, matmul  # noqa: E402

_PARAMS = {info["name"]: dict(info["params"]) for info in _core._ACTIVATION_INFO}
_PARAMS.update({"prelu": {"weight": 0.25}, "softmax": {"axis": -1}, "log_softmax": {"axis": -1}})


class Activation:
    """An activation with its parameters bound: ``forward(x)`` and
    ``backward(grad_output, x)`` (for prelu, backward returns ``(grad_x, grad_weight)``).
    Made by :func:`activation`."""

    def __init__(self, name: str, **params):
        if not isinstance(name, str) or name not in _PARAMS:
            raise ValueError(f"simdmlp.activation: unknown activation {name!r}; "
                             f"choose from {', '.join(ACTIVATIONS)}")
        unknown = set(params) - set(_PARAMS[name])
        if unknown:
            raise TypeError(f"simdmlp.activation: {name} takes parameters "
                            f"{sorted(_PARAMS[name]) or 'none'}, got {sorted(unknown)}")
        self.name = name
        self.params = {**_PARAMS[name], **params}
        self._forward = getattr(_core, name)
        self._backward = getattr(_core, name + "_backward")

    def forward(self, x, out=None):
        return self._forward(x, **self.params, out=out)

    def backward(self, grad_output, x, out=None):
        return self._backward(grad_output, x, **self.params, out=out)

    __call__ = forward

    def __repr__(self):
        args = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"simdmlp.activation({self.name!r}{args})"


def activation(name: str, **params) -> Activation:
    """The activation ``name`` (one of :data:`ACTIVATIONS`) with its parameters bound, as an
    object with ``.forward(x)`` and ``.backward(grad_output, x)``. Parameters not given take
    the defaults of SPEC (prelu's weight defaults to 0.25, as torch.nn.PReLU's)."""
    return Activation(name, **params)


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


from . import nn, optim  # noqa: E402  (the MLP layer over the kernels above)

if _os.environ.get("SIMDMLP_ISA"):
    _core._set_isa(_os.environ["SIMDMLP_ISA"])  # ValueError here beats silently ignoring it

__all__ = [
    "ACTIVATIONS", "ELEMENTWISE", "Activation", "__version__", "activation", "available_isas",
    "current_isa", "get_num_threads", "info", "nn", "optim",
    "set_num_threads", "use_isa",
    *ACTIVATIONS, *(n + "_backward" for n in ACTIVATIONS),
    "PackedWeights", "dense", "dense_backward", "dense_forward", "matmul",
]
