#!/usr/bin/env python3
"""Accuracy sweep of simdmlp's float32 elementwise activations against float64 references.

Runs float32 bit patterns through ``simdmlp.NAME`` (forward) and
``simdmlp.NAME_backward(ones, x)`` (backward) on every ISA in
``simdmlp.available_isas()`` and compares each result with a float64 reference, as
SPEC.md "Elementwise activations" requires:

* forward:  err = |got - ref64| / ulp32(ref64) <= 4 ULP, for every float32 input;
* backward: |got - d| <= 8 ulp32(d) + 2^-22 |dy| with dy = 1 and d = f'(x) in float64
  (reported as the ratio |got - d| / (8 ulp32(d) + 2^-22), which must be <= 1),
  together with the same ULP measure as forward, for information.

ulp32(v) is the spacing of float32 at |v| rounded to float32 (np.spacing), i.e. 2^-149
for zero and subnormal results. A NaN where the reference is not NaN (or the reverse) is
a failure of infinite error, and infinities must match exactly.

Modes (pick one; the default is a stratified subset that runs in well under 60 s):

  --full        every one of the 2^32 bit patterns
  --stride N    every N-th bit pattern (N a power of two, "4096" or "2^12") plus the
                special inputs (see --list-specials)
  (default)     stratified: --per-binade random mantissas from each of the 512
                (sign, exponent) binades, plus the specials and a window of
                --window patterns either side of every saturation threshold

Adding a function is one entry in ``REFERENCES`` below: name -> (float64 forward,
float64 derivative). Names the installed build does not export are skipped with a note.

Exit status: 0 if every bound holds, 1 if any is exceeded, 2 on usage errors.

Examples::

    python bench/sweep_ulp.py                                  # CI: stratified, < 60 s
    python bench/sweep_ulp.py --stride 4096 --isas scalar avx2
    python bench/sweep_ulp.py --full --json bench/results/ulp_sweep_full.json \\
        --markdown bench/results/ulp_sweep_full.md
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

import simdmlp

# ----------------------------------------------------------------------------------------
# Float64 references: name -> (forward(x64), derivative(x64)). Both take and return
# float64 arrays; they are called inside np.errstate(all="ignore").
# ----------------------------------------------------------------------------------------


def _sigmoid64(x):
    """Stable form: e = exp(-|x|); 1/(1+e) for x >= 0, e/(1+e) for x < 0."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_deriv64(x):
    """sigmoid'(x) = e / (1+e)^2 with e = exp(-|x|)."""
    e = np.exp(-np.abs(x))
    return e / ((1.0 + e) * (1.0 + e))


def _tanh_deriv64(x):
    """tanh'(x) = 4e / (1+e)^2 with e = exp(-2|x|) (no cancellation near saturation)."""
    e = np.exp(-2.0 * np.abs(x))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


REFERENCES: Dict[str, Tuple[Callable, Callable]] = {
    "sigmoid": (_sigmoid64, _sigmoid_deriv64),
    "tanh": (np.tanh, _tanh_deriv64),
}

FORWARD_BOUND_ULP = 4.0          # SPEC: forward within 4 ULP
BACKWARD_BOUND_RATIO = 1.0       # SPEC: |got-d| <= 8 ulp(d) + 2^-22 |dy|
BACKWARD_ULP_TERM = 8.0
BACKWARD_ABS_TERM = 2.0 ** -22   # times |dy| = 1
TINY = 2.0 ** -149               # ulp32 of zero / subnormals
ULP_FLT_MAX = 2.0 ** 104         # ulp32 for a finite reference that rounds to +-inf
U32 = 1 << 32

# ----------------------------------------------------------------------------------------
# Input sets
# ----------------------------------------------------------------------------------------

SPECIAL_PATTERNS = {
    "+0": 0x00000000, "-0": 0x80000000,
    "+inf": 0x7F800000, "-inf": 0xFF800000,
    "qNaN": 0x7FC00000, "-qNaN": 0xFFC00000, "sNaN": 0x7F800001, "-sNaN": 0xFF800001,
    "NaN max payload": 0x7FFFFFFF, "-NaN max payload": 0xFFFFFFFF,
    "+min subnormal": 0x00000001, "-min subnormal": 0x80000001,
    "+max subnormal": 0x007FFFFF, "-max subnormal": 0x807FFFFF,
    "+min normal": 0x00800000, "-min normal": 0x80800000,
    "+FLT_MAX": 0x7F7FFFFF, "-FLT_MAX": 0xFF7FFFFF,
    "+1": 0x3F800000, "-1": 0xBF800000, "+0.5": 0x3F000000, "-0.5": 0xBF000000,
    "+2": 0x40000000, "-2": 0xC0000000,
    "+FLT_EPSILON": 0x34000000, "-FLT_EPSILON": 0xB4000000,
}
SPECIAL_NEIGHBOURS = 4   # patterns either side of each finite special / threshold


def _unique(a: np.ndarray) -> np.ndarray:
    """Sorted unique values (np.unique is ~200x slower than a sort on NumPy 2.3+)."""
    a = np.sort(a, kind="stable")
    if a.size:
        a = a[np.concatenate(([True], a[1:] != a[:-1]))]
    return a


def _f32(bits) -> np.ndarray:
    return np.asarray(bits, dtype=np.uint32).view(np.float32)


def _fmt_float(bits: int) -> str:
    return repr(float(_f32([bits])[0])) if not np.isnan(_f32([bits])[0]) else "nan"


_CLASS_NAMES = {0: "nan", 1: "+0", 2: "+subnormal", 3: "+normal", 4: "+1", 5: "+inf",
                -1: "-0", -2: "-subnormal", -3: "-normal", -4: "-1", -5: "-inf"}


def _classify(v64: np.ndarray) -> np.ndarray:
    """Class of a float64 value rounded to float32, for finding saturation thresholds:
    0 nan, 1 +-0, 2 subnormal, 3 normal other, 4 exactly +-1, 5 +-inf (times the sign)."""
    with np.errstate(all="ignore"):
        r = v64.astype(np.float32)
    a = np.abs(r)
    cls = np.full(r.shape, 3, dtype=np.int8)
    cls[a < np.float32(2.0 ** -126)] = 2
    cls[a == 0] = 1
    cls[a == 1] = 4
    cls[np.isinf(a)] = 5
    cls = np.where(np.signbit(r), -cls, cls).astype(np.int8)
    cls[np.isnan(r)] = 0
    return cls


def _lib_fn(name: str, direction: str, isa: str) -> Callable:
    """float64 -> float64 wrapper of simdmlp's float32 kernel on `isa`, for bisection."""
    def run(x64):
        x = x64.astype(np.float32)
        with simdmlp.use_isa(isa):
            if direction == "fwd":
                y = getattr(simdmlp, name)(x)
            else:
                y = getattr(simdmlp, name + "_backward")(np.ones_like(x), x)
        return y.astype(np.float64)
    return run


def saturation_thresholds(functions: List[str], isas: List[str] = (),
                          scan_step: int = 1 << 12) -> Dict[str, int]:
    """Exact float32 bit patterns where a float32 value changes class (reaches +-0, +-1 or
    +-inf, or becomes subnormal): for the float64 reference of each function and
    direction rounded to float32, and for simdmlp's own output on each ISA in `isas`
    (its cut-offs may differ from the mathematical ones). Found by a scan every
    `scan_step` patterns of each sign, then bisection; returns
    {"sigmoid fwd ref: 17.33 (3 -> 4)": pattern, ...}, the first pattern of the new class."""
    sources = []
    for name in functions:
        for direction, ref in zip(("fwd", "bwd"), REFERENCES[name]):
            sources.append((f"{name} {direction} ref", ref))
            sources += [(f"{name} {direction} {isa}", _lib_fn(name, direction, isa)) for isa in isas]
    out = {}
    with np.errstate(all="ignore"):
        for sign in (0, 0x80000000):
            grid = np.arange(0, 0x7F800001, scan_step, dtype=np.uint64)
            grid = np.append(grid, 0x7F800000).astype(np.uint32) | np.uint32(sign)
            x64 = _f32(grid).astype(np.float64)
            for label, fn in sources:
                cls = _classify(fn(x64))
                change = np.flatnonzero(cls[1:] != cls[:-1])
                # A value hovering at a boundary (tanh' = 1 or 1 - 2^-24 near 0) changes
                # class many times: keep the first and last change of each kind.
                pair = cls[change].astype(np.int32) * 16 + cls[change + 1]
                keep = set()
                for kind in np.unique(pair):
                    where = change[pair == kind]
                    keep.update((int(where[0]), int(where[-1])))
                for i in sorted(keep):
                    lo, hi = int(grid[i]), int(grid[i + 1])       # class(lo) != class(hi)
                    c_lo = int(cls[i])
                    while hi - lo > 1:
                        mid = (lo + hi) // 2
                        if int(_classify(fn(_f32([mid]).astype(np.float64)))[0]) == c_lo:
                            lo = mid
                        else:
                            hi = mid
                    c_hi = int(_classify(fn(_f32([hi]).astype(np.float64)))[0])
                    out[f"{label}: {_fmt_float(hi)} "
                        f"({_CLASS_NAMES[c_lo]} -> {_CLASS_NAMES[c_hi]})"] = hi
    return out


def special_set(functions: List[str], isas: List[str] = ()) -> Tuple[np.ndarray, Dict[str, int]]:
    """Named specials + saturation thresholds, each with SPECIAL_NEIGHBOURS neighbours."""
    named = dict(SPECIAL_PATTERNS)
    named.update(saturation_thresholds(functions, isas))
    pats = []
    for p in named.values():
        if (p & 0x7F800000) == 0x7F800000 and (p & 0x007FFFFF):   # NaN: no neighbours
            pats.append(np.array([p], dtype=np.int64))
        else:
            pats.append(np.arange(p - SPECIAL_NEIGHBOURS, p + SPECIAL_NEIGHBOURS + 1))
    allp = np.concatenate(pats) % U32
    return _unique(allp.astype(np.uint32)), named


def threshold_windows(thresholds: Dict[str, int], window: int) -> np.ndarray:
    parts = [np.arange(p - window, p + window + 1, dtype=np.int64) for p in thresholds.values()]
    if not parts:
        return np.empty(0, np.uint32)
    return _unique((np.concatenate(parts) % U32).astype(np.uint32))


def stratified_set(per_binade: int, seed: int, extra: np.ndarray) -> np.ndarray:
    """per_binade mantissas from each of the 512 (sign, exponent) binades, one drawn
    uniformly from each of per_binade equal mantissa sub-ranges (so no duplicates),
    plus each binade's first and last pattern, plus `extra`."""
    per_binade = max(1, min(int(per_binade), 1 << 23))
    width = (1 << 23) // per_binade
    rng = np.random.default_rng(seed)
    base = np.arange(per_binade, dtype=np.uint32) * np.uint32(width)
    mant = base[None, :] + rng.integers(0, width, size=(512, per_binade), dtype=np.uint32)
    heads = (np.arange(512, dtype=np.uint32) << np.uint32(23))[:, None]
    edges = np.concatenate([heads, heads + np.uint32(0x7FFFFF)], axis=1)
    allp = np.concatenate([(heads + mant).ravel(), edges.ravel(), extra])
    return _unique(allp)


def chunks_of(arr: np.ndarray, chunk: int) -> Iterator[np.ndarray]:
    for i in range(0, arr.size, chunk):
        yield arr[i:i + chunk]


def stride_chunks(stride: int, chunk: int, specials: np.ndarray) -> Iterator[np.ndarray]:
    """Every stride-th pattern from 0, in chunks, then the specials not already covered."""
    for start in range(0, U32, chunk * stride):
        stop = min(U32, start + chunk * stride)
        yield np.arange(start, stop, stride, dtype=np.uint64).astype(np.uint32)
    rest = specials[(specials.astype(np.uint64) % np.uint64(stride)) != 0]
    yield from chunks_of(rest, chunk)


def count_stride(stride: int, specials: np.ndarray) -> int:
    return U32 // stride + int(np.count_nonzero(specials.astype(np.uint64) % np.uint64(stride)))


# ----------------------------------------------------------------------------------------
# Comparison
# ----------------------------------------------------------------------------------------


@dataclass
class Stat:
    """Running result of one function x direction x ISA."""
    function: str
    direction: str          # "forward" | "backward"
    isa: str
    n: int = 0
    max_ulp: float = -1.0
    worst_ulp_bits: Optional[int] = None
    worst_ulp_got: Optional[float] = None
    worst_ulp_ref: Optional[float] = None
    over_bound: int = 0     # forward: ulp > 4; backward: SPEC ratio > 1
    nonfinite_mismatch: int = 0
    over_1ulp: int = 0      # informative
    max_ratio: float = -1.0  # backward only
    worst_ratio_bits: Optional[int] = None
    worst_ratio_got: Optional[float] = None
    worst_ratio_ref: Optional[float] = None
    first_failures: List[int] = field(default_factory=list)

    def merge(self, other: "Stat") -> None:
        self.n += other.n
        self.over_bound += other.over_bound
        self.nonfinite_mismatch += other.nonfinite_mismatch
        self.over_1ulp += other.over_1ulp
        if other.max_ulp > self.max_ulp:
            self.max_ulp, self.worst_ulp_bits = other.max_ulp, other.worst_ulp_bits
            self.worst_ulp_got, self.worst_ulp_ref = other.worst_ulp_got, other.worst_ulp_ref
        if other.max_ratio > self.max_ratio:
            self.max_ratio, self.worst_ratio_bits = other.max_ratio, other.worst_ratio_bits
            self.worst_ratio_got, self.worst_ratio_ref = other.worst_ratio_got, other.worst_ratio_ref
        room = 16 - len(self.first_failures)
        if room > 0:
            self.first_failures.extend(other.first_failures[:room])

    @property
    def passed(self) -> bool:
        return self.over_bound == 0

    def as_dict(self) -> dict:
        def hexb(b):
            return None if b is None else f"0x{b:08x}"

        d = {
            "function": self.function, "direction": self.direction, "isa": self.isa,
            "n": self.n, "max_ulp": _num(self.max_ulp),
            "worst_ulp_input": None if self.worst_ulp_bits is None else _fmt_float(self.worst_ulp_bits),
            "worst_ulp_bits": hexb(self.worst_ulp_bits),
            "worst_ulp_got": _num(self.worst_ulp_got), "worst_ulp_ref": _num(self.worst_ulp_ref),
            "bound": "4 ulp" if self.direction == "forward" else "ratio 1 (8 ulp + 2^-22)",
            "over_bound": self.over_bound, "nonfinite_mismatch": self.nonfinite_mismatch,
            "over_1ulp": self.over_1ulp, "passed": self.passed,
            "first_failures": [hexb(b) for b in self.first_failures],
        }
        if self.direction == "backward":
            d.update({
                "max_ratio": _num(self.max_ratio),
                "worst_ratio_input": None if self.worst_ratio_bits is None else _fmt_float(self.worst_ratio_bits),
                "worst_ratio_bits": hexb(self.worst_ratio_bits),
                "worst_ratio_got": _num(self.worst_ratio_got),
                "worst_ratio_ref": _num(self.worst_ratio_ref),
            })
        return d


def _num(v):
    if v is None:
        return None
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


class Ref:
    """A float64 reference for one chunk with its ULP scale (shared by all ISAs)."""

    def __init__(self, ref64: np.ndarray):
        self.ref = ref64
        r32 = ref64.astype(np.float32)
        ulp = np.spacing(np.abs(r32)).astype(np.float64)   # nan for r32 = +-inf / nan
        if np.isnan(ulp).any():
            fix = np.isnan(ulp) & np.isfinite(ref64)          # finite ref rounding to inf
            ulp[fix] = ULP_FLT_MAX
        self.ulp = ulp
        self._tol = None

    @property
    def tol(self):   # backward SPEC tolerance
        if self._tol is None:
            self._tol = BACKWARD_ULP_TERM * self.ulp + BACKWARD_ABS_TERM
        return self._tol


def _fixup_nonfinite(err, g, ref) -> int:
    """Where err is not finite (a NaN or inf on either side): 0 if both NaN or both the
    same infinity, else +inf. Returns the number of mismatches."""
    idx = np.flatnonzero(~np.isfinite(err))
    if idx.size == 0:
        return 0
    gi, ri = g[idx], ref[idx]
    ok = (np.isnan(gi) & np.isnan(ri)) | (gi == ri)
    err[idx] = np.where(ok, 0.0, np.inf)
    return int(idx.size - np.count_nonzero(ok))


def compare(got32: np.ndarray, ref: Ref, bits: np.ndarray, stat: Stat, backward: bool) -> None:
    """Fold one chunk's comparison into `stat` (a fresh Stat for this chunk)."""
    g = got32.astype(np.float64)
    diff = np.subtract(g, ref.ref)
    np.abs(diff, out=diff)
    err = diff / ref.ulp
    i = int(np.argmax(err))
    if not np.isfinite(err[i]):                 # argmax returns the first NaN if any
        stat.nonfinite_mismatch = _fixup_nonfinite(err, g, ref.ref)
        i = int(np.argmax(err))
    stat.n = bits.size
    stat.max_ulp = float(err[i])
    stat.worst_ulp_bits, stat.worst_ulp_got, stat.worst_ulp_ref = int(bits[i]), float(g[i]), float(ref.ref[i])
    if stat.max_ulp > 1.0:
        stat.over_1ulp = int(np.count_nonzero(err > 1.0))
    if not backward:
        if stat.max_ulp > FORWARD_BOUND_ULP:
            bad = err > FORWARD_BOUND_ULP
            stat.over_bound = int(np.count_nonzero(bad))
            stat.first_failures = [int(b) for b in bits[np.flatnonzero(bad)[:16]]]
        return
    ratio = np.divide(diff, ref.tol, out=diff)
    j = int(np.argmax(ratio))
    if not np.isfinite(ratio[j]):
        _fixup_nonfinite(ratio, g, ref.ref)
        j = int(np.argmax(ratio))
    stat.max_ratio = float(ratio[j])
    stat.worst_ratio_bits, stat.worst_ratio_got, stat.worst_ratio_ref = int(bits[j]), float(g[j]), float(ref.ref[j])
    if stat.max_ratio > BACKWARD_BOUND_RATIO:
        bad = ratio > BACKWARD_BOUND_RATIO
        stat.over_bound = int(np.count_nonzero(bad))
        stat.first_failures = [int(b) for b in bits[np.flatnonzero(bad)[:16]]]


def evaluate_chunk(bits: np.ndarray, outputs: Dict[Tuple[str, str, str], np.ndarray],
                   functions: List[str], isas: List[str]) -> List[Stat]:
    """Reference once per function and direction, then compare every ISA's output.
    Runs in a worker thread; never calls simdmlp (use_isa is process-wide)."""
    stats = []
    with np.errstate(all="ignore"):
        x64 = bits.view(np.float32).astype(np.float64)
        for name in functions:
            for direction, ref_fn in zip(("forward", "backward"), REFERENCES[name]):
                ref = Ref(ref_fn(x64))
                for isa in isas:
                    st = Stat(name, direction, isa)
                    compare(outputs[(name, direction, isa)], ref, bits, st, direction == "backward")
                    stats.append(st)
    return stats


def run_library(bits: np.ndarray, functions: List[str], isas: List[str]):
    x = bits.view(np.float32)
    ones = np.ones_like(x)
    out = {}
    for isa in isas:
        with simdmlp.use_isa(isa):
            for name in functions:
                out[(name, "forward", isa)] = getattr(simdmlp, name)(x)
                out[(name, "backward", isa)] = getattr(simdmlp, name + "_backward")(ones, x)
    return out


# ----------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------


def parse_pow2(text: str) -> int:
    t = text.strip().replace("**", "^")
    v = 2 ** int(t[2:]) if t.startswith("2^") else int(t, 0)
    if v < 1 or v & (v - 1):
        raise argparse.ArgumentTypeError(f"{text!r} is not a power of two")
    return v


def machine_facts() -> dict:
    facts = {"simdmlp": simdmlp.info(), "python": platform.python_version(),
             "numpy": np.__version__, "platform": platform.platform(),
             "machine": platform.machine(), "cpu_count": os.cpu_count(),
             "niceness": os.nice(0), "loadavg_at_end": os.getloadavg()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "Model")):
                    facts["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import hashlib
        core = simdmlp._core.__file__
        with open(core, "rb") as f:
            facts["core"] = {"path": core, "sha256": hashlib.sha256(f.read()).hexdigest(),
                             "mtime": _dt.datetime.fromtimestamp(os.path.getmtime(core)).isoformat()}
    except (OSError, AttributeError):
        pass
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        head = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if head:
            facts["git"] = head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return facts


def _fmt_ulp(v: float) -> str:
    if v is None or v < 0:
        return "-"
    if math.isinf(v):
        return "inf"
    return f"{v:.3f}" if v < 1e6 else f"{v:.3e}"


def _fmt_ratio(v: float) -> str:
    return "inf" if math.isinf(v) else (f"{v:.4f}" if v < 1e6 else f"{v:.3e}")


def table_rows(stats: List[Stat]) -> List[List[str]]:
    rows = []
    for s in stats:
        worst = "-" if s.worst_ulp_bits is None else f"{_fmt_float(s.worst_ulp_bits)} (0x{s.worst_ulp_bits:08x})"
        if s.direction == "backward" and s.worst_ratio_bits is not None:
            ratio = f"{_fmt_ratio(s.max_ratio)} @ {_fmt_float(s.worst_ratio_bits)} (0x{s.worst_ratio_bits:08x})"
        else:
            ratio = "-"
        rows.append([s.function, s.direction, s.isa, _fmt_ulp(s.max_ulp), worst, ratio,
                     f"{s.over_bound}", f"{s.nonfinite_mismatch}", f"{s.over_1ulp}", f"{s.n}",
                     "ok" if s.passed else "FAIL"])
    return rows


HEADER = ["function", "direction", "isa", "max ulp", "worst input (ulp)",
          "max SPEC ratio @ input", "over bound", "NaN/inf mismatch", "> 1 ulp", "inputs", ""]


def print_table(stats: List[Stat], stream=sys.stdout) -> None:
    rows = [HEADER] + table_rows(stats)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), file=stream)
        if k == 0:
            print("  ".join("-" * w for w in widths), file=stream)


def reproducers(stats: List[Stat]) -> List[str]:
    lines = []
    for s in stats:
        if s.passed:
            continue
        call = (f"simdmlp.{s.function}(x)" if s.direction == "forward"
                else f"simdmlp.{s.function}_backward(np.ones_like(x), x)")
        bits = ", ".join(f"0x{b:08x}" for b in s.first_failures[:8])
        lines.append(
            f"{s.function} {s.direction} [{s.isa}]: {s.over_bound} inputs over bound; worst "
            f"x = {_fmt_float(s.worst_ratio_bits if s.direction == 'backward' else s.worst_ulp_bits)}\n"
            f"    python -c \"import numpy as np, simdmlp; "
            f"x = np.array([{bits}], dtype=np.uint32).view(np.float32); "
            f"simdmlp.use_isa('{s.isa}'); print(x, {call})\"")
    return lines


def write_markdown(path: str, report: dict, stats: List[Stat]) -> None:
    m = report["machine"]
    lines = [f"# simdmlp float32 ULP sweep ({report['mode']})", "",
             f"- date: {report['date']}",
             f"- command: `{report['command']}`",
             f"- mode: {report['mode']}; inputs per function x direction x ISA: {report['inputs']:,}",
             f"- elapsed: {report['elapsed_s']:.1f} s wall",
             f"- simdmlp {m['simdmlp']['version']} ({m.get('git', '?')}), {m['simdmlp']['compiler']}, "
             f"OpenMP {m['simdmlp']['openmp']}, ISAs {', '.join(m['simdmlp']['isas'])}, "
             f"simdmlp threads {report['simdmlp_threads']}, reference workers {report['jobs']}",
             f"- machine: {m.get('cpu', '?')}, {m['cpu_count']} CPUs, {m['platform']}, "
             f"Python {m['python']}, NumPy {m['numpy']}, nice {m['niceness']}, "
             f"load average at end {', '.join(f'{v:.2f}' for v in m['loadavg_at_end'])}",
             "- bounds (SPEC.md): forward |got - ref64| / ulp32(ref64) <= 4; backward (dy = 1) "
             "|got - d| / (8 ulp32(d) + 2^-22) <= 1. ulp32(v) = spacing of float32 at |v| "
             "rounded to float32 (2^-149 for zero/subnormal).",
             f"- result: **{'PASS' if report['passed'] else 'FAIL'}**", "",
             "| " + " | ".join(HEADER[:-1] + ["status"]) + " |",
             "|" + "---|" * len(HEADER)]
    for r in table_rows(stats):
        lines.append("| " + " | ".join(r) + " |")
    if report["skipped"]:
        lines += ["", "Skipped (not in this build): " + ", ".join(report["skipped"])]
    repro = reproducers(stats)
    if repro:
        lines += ["", "## Inputs over the bound (reproducers)", "", "```"] + repro + ["```"]
    if report.get("specials"):
        lines += ["", "## Saturation thresholds (first float32 input of the new class)", "",
                  "Reference = float64 reference rounded to float32; other rows = simdmlp's "
                  "output on those ISAs. Each is swept with its neighbours (all modes but "
                  "--full add them explicitly).", "",
                  "| function | direction | source | thresholds |", "|---|---|---|---|"]
        groups: Dict[Tuple[str, str], Dict[str, List[str]]] = {}
        for label, bits in report["specials"].items():
            if ":" not in label or label in SPECIAL_PATTERNS:
                continue
            head, what = label.split(": ", 1)
            fn, direction, source = head.split(" ", 2)
            x, change = what.split(" ", 1)
            groups.setdefault((fn, direction), {}).setdefault(source, []).append(
                f"{x} (0x{bits:08x}) {change}")
        for (fn, direction), by_source in groups.items():
            merged: Dict[Tuple[str, ...], List[str]] = {}
            for source, items in by_source.items():
                merged.setdefault(tuple(items), []).append(source)
            for items, sources in merged.items():
                lines.append(f"| {fn} | {'forward' if direction == 'fwd' else 'backward'} | "
                             f"{', '.join('reference' if x == 'ref' else x for x in sources)} | "
                             f"{'; '.join(items)} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="sweep all 2^32 bit patterns")
    mode.add_argument("--stride", type=parse_pow2, metavar="N",
                      help="every N-th pattern (power of two) plus specials")
    ap.add_argument("--per-binade", type=int, default=1 << 15, metavar="M",
                    help="stratified mode: mantissas per binade (default 32768)")
    ap.add_argument("--window", type=int, default=4096,
                    help="stratified mode: patterns either side of each threshold (default 4096)")
    ap.add_argument("--seed", type=int, default=0, help="stratified mode RNG seed (default 0)")
    ap.add_argument("--functions", nargs="+", metavar="NAME",
                    help=f"subset of {', '.join(REFERENCES)} (default: all the build has)")
    ap.add_argument("--isas", nargs="+", metavar="ISA", help="subset of simdmlp.available_isas()")
    ap.add_argument("--threads", type=int, default=1,
                    help="simdmlp.set_num_threads(N) (default 1: the sweep runs the library "
                         "alongside --jobs reference workers, and SPEC makes results bitwise "
                         "identical for any thread count; oversubscribed OpenMP was 3x slower)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="worker threads computing references and errors (default: CPU count)")
    ap.add_argument("--chunk", type=parse_pow2, default=1 << 16,
                    help="patterns per chunk (power of two, default 2^16: float64 temporaries "
                         "stay in L2 and malloc reuses them; 2^22 was 2.7x slower, page faults)")
    ap.add_argument("--json", metavar="PATH", help="write results as JSON")
    ap.add_argument("--markdown", metavar="PATH", help="write results as a Markdown table")
    ap.add_argument("--list-specials", action="store_true",
                    help="print the special inputs and saturation thresholds and exit")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)

    available = list(simdmlp.available_isas())
    isas = args.isas or available
    bad = [i for i in isas if i not in available]
    if bad:
        ap.error(f"ISA(s) {bad} not available here (available: {available})")
    wanted = args.functions or list(REFERENCES)
    unknown = [f for f in wanted if f not in REFERENCES]
    if unknown:
        ap.error(f"no float64 reference for {unknown}; known: {list(REFERENCES)}")
    functions = [f for f in wanted if f in simdmlp.ACTIVATIONS]
    skipped = [f for f in wanted if f not in simdmlp.ACTIVATIONS]
    if skipped:
        print(f"note: skipping {skipped}: not exported by this simdmlp build", file=sys.stderr)
    if not functions:
        ap.error("nothing to sweep")
    if args.threads:
        simdmlp.set_num_threads(args.threads)

    t0 = time.perf_counter()
    specials, named = special_set(functions, isas)
    if args.list_specials:
        for k, v in named.items():
            print(f"{k:45s} 0x{v:08x}  {_fmt_float(v)}")
        return 0

    chunk = args.chunk
    if args.full:
        mode_name = "full (all 2^32 patterns)"
        total = U32
        source = (np.arange(s, min(U32, s + chunk), dtype=np.uint64).astype(np.uint32)
                  for s in range(0, U32, chunk))
    elif args.stride:
        mode_name = f"stride {args.stride} (2^{args.stride.bit_length() - 1}) + specials"
        total = count_stride(args.stride, specials)
        source = stride_chunks(args.stride, chunk, specials)
    else:
        thresholds = {k: v for k, v in named.items() if k not in SPECIAL_PATTERNS}
        extra = np.concatenate([specials, threshold_windows(thresholds, args.window)])
        pats = stratified_set(args.per_binade, args.seed, extra)
        mode_name = (f"stratified ({args.per_binade} per binade x 512 binades, seed {args.seed}, "
                     f"+-{args.window} around thresholds, + specials)")
        total = int(pats.size)
        source = chunks_of(pats, chunk)

    stats: Dict[Tuple[str, str, str], Stat] = {}
    order = [(f, d, i) for f in functions for d in ("forward", "backward") for i in isas]
    for key in order:
        stats[key] = Stat(*key)

    done = 0
    last = t0
    jobs = max(1, args.jobs)
    pending: collections.deque = collections.deque()

    def drain_one():
        nonlocal done, last
        n, fut = pending.popleft()
        for st in fut.result():
            stats[(st.function, st.direction, st.isa)].merge(st)
        done += n
        now = time.perf_counter()
        if not args.quiet and (now - last > 10 or done == total):
            last = now
            rate = done / (now - t0)
            eta = (total - done) / rate if rate > 0 else float("nan")
            print(f"[{now - t0:8.1f} s] {done:,}/{total:,} ({100 * done / total:.2f}%), "
                  f"{rate / 1e6:.2f} M patterns/s, ETA {eta:.0f} s", file=sys.stderr, flush=True)

    with cf.ThreadPoolExecutor(max_workers=jobs) as pool:
        for bits in source:
            if bits.size == 0:
                continue
            outputs = run_library(bits, functions, isas)
            pending.append((bits.size, pool.submit(evaluate_chunk, bits, outputs, functions, isas)))
            while len(pending) > jobs:
                drain_one()
        while pending:
            drain_one()
    elapsed = time.perf_counter() - t0

    result = [stats[k] for k in order]
    passed = all(s.passed for s in result)
    print(f"simdmlp ULP sweep: {mode_name}; {total:,} inputs per row; {elapsed:.1f} s")
    print_table(result)
    repro = reproducers(result)
    if repro:
        print("\nInputs over the bound:")
        print("\n".join(repro))
    print(f"\n{'PASS' if passed else 'FAIL'}: forward <= {FORWARD_BOUND_ULP:g} ulp, "
          f"backward SPEC ratio <= {BACKWARD_BOUND_RATIO:g}")

    if args.json or args.markdown:
        report = {
            "tool": "bench/sweep_ulp.py",
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["python", "bench/sweep_ulp.py"] + (sys.argv[1:] if argv is None else list(argv))),
            "mode": mode_name, "inputs": total, "elapsed_s": elapsed,
            "simdmlp_threads": simdmlp.get_num_threads(), "jobs": jobs, "chunk": chunk,
            "machine": machine_facts(), "functions": functions, "isas": isas, "skipped": skipped,
            "bounds": {"forward_ulp": FORWARD_BOUND_ULP, "backward_ratio": BACKWARD_BOUND_RATIO,
                       "backward_tolerance": "8 ulp32(d) + 2^-22 |dy|, dy = 1"},
            "passed": passed, "results": [s.as_dict() for s in result],
            "specials": named,
        }
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2)
                f.write("\n")
        if args.markdown:
            write_markdown(args.markdown, report, result)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
