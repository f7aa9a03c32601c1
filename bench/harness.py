"""Timing utilities for the simdmlp benchmarks (standard library only).

Method (the one in notes/baseline.md): one warm-up call, then an inner loop sized so that
one sample takes at least ``min_time`` seconds, then ``warmup_samples`` discarded samples
and ``samples`` measured ones, with the garbage collector off. The figure is the median
time per call; the spread is (max - min) / median over the measured samples.

A case is a statement string run by :class:`timeit.Timer` in a namespace dict, so the
loop calls the function directly (no lambda in between) and the JSON can record exactly
what was timed. ``measure`` runs ``gc.collect()`` first: call ``gc.freeze()`` after the big
imports (torch), or each collection costs tens of milliseconds.
"""
from __future__ import annotations

import gc
import math
import os
import statistics
import time
import timeit
from dataclasses import asdict, dataclass, field


@dataclass
class Timing:
    median: float  # seconds per call
    min: float
    max: float
    spread: float  # (max - min) / median
    number: int  # calls per sample
    samples: list = field(default_factory=list)  # seconds per call, one per sample

    def as_dict(self) -> dict:
        return asdict(self)


def _calibrate(timer: timeit.Timer, min_time: float, first_dt: float) -> int:
    """Smallest loop count (roughly) whose sample takes >= min_time; `first_dt` is the time
    of one call already made (the warm-up call), so slow calls cost no extra call here."""
    number, dt = 1, first_dt
    while True:
        if dt >= min_time:
            return number
        if dt < min_time / 100:
            number *= 10
        else:  # close enough to extrapolate; 10% margin so samples stay above min_time
            return max(number + 1, math.ceil(number * min_time / max(dt, 1e-9) * 1.1))
        dt = timer.timeit(number)


def measure(stmt: str, namespace: dict, *, min_time: float = 0.02, samples: int = 11,
            warmup_samples: int = 2) -> Timing:
    """Time ``stmt`` (executed with ``namespace`` as globals) as described above."""
    timer = timeit.Timer(stmt, timer=time.perf_counter, globals=namespace)
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        first = timer.timeit(1)  # warm-up call: first-touch, lazy init, thread-pool start
        number = _calibrate(timer, min_time, first)
        for _ in range(warmup_samples):
            dt = timer.timeit(number)
            if dt < 0.5 * min_time:  # the cold first call misled the calibration
                number = _calibrate(timer, min_time, dt / number) if number == 1 else \
                    math.ceil(number * min_time / max(dt, 1e-9) * 1.1)
        per_call = [timer.timeit(number) / number for _ in range(samples)]
    finally:
        if gc_was_enabled:
            gc.enable()
    med = statistics.median(per_call)
    lo, hi = min(per_call), max(per_call)
    return Timing(med, lo, hi, (hi - lo) / med if med > 0 else 0.0, number, per_call)


def fmt_time(seconds: float | None) -> str:
    """3 significant digits with a unit: '812 ns', '3.41 us', '12.6 ms'."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return _sig3(seconds / scale) + " " + unit
    return _sig3(seconds / 1e-9) + " ns"


def _sig3(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def parse_size(text: str) -> int:
    """'4K' -> 4096, '1M' -> 1048576, '1000' -> 1000 (binary K/M/G suffixes)."""
    t = text.strip().upper()
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    body = t[:-1] if mult != 1 else t
    n = int(float(body) * mult)
    if n < 1:
        raise ValueError(f"size must be >= 1, got {text!r}")
    return n


def size_label(n: int) -> str:
    """4096 -> '4K', 16777216 -> '16M', 1000 -> '1000'."""
    for suffix, scale in (("M", 1 << 20), ("K", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{suffix}"
    return str(n)


class CpuLoad:
    """CPU time that other processes used on this machine while we measured.

    ``foreign`` = machine-wide busy time (/proc/stat) minus this process's own CPU time
    (all its threads, os.times), divided by the wall time: the average number of CPUs that
    something else kept busy. On a 2-CPU machine, 0.5 means half a CPU was taken from us.
    Resolution is the kernel tick (10 ms), so short intervals are rough. None off Linux.
    """

    def __init__(self):
        self._t0 = self._snap()

    @staticmethod
    def _snap():
        try:
            with open("/proc/stat") as fh:
                f = [int(v) for v in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        hz = os.sysconf("SC_CLK_TCK")
        busy = (sum(f[:8]) - f[3] - f[4]) / hz  # user..steal, minus idle and iowait
        t = os.times()
        return busy, t.user + t.system, time.perf_counter()

    def foreign(self, restart: bool = True) -> float | None:
        t1 = self._snap()
        t0, self._t0 = self._t0, (t1 if restart else self._t0)
        if t0 is None or t1 is None or t1[2] - t0[2] <= 0:
            return None
        return max(0.0, ((t1[0] - t0[0]) - (t1[1] - t0[1])) / (t1[2] - t0[2]))


def measure_paired(stmt_a: str, ns_a: dict, stmt_b: str, ns_b: dict, *, min_time: float = 0.02,
                   pairs: int = 7) -> dict:
    """Time two statements in alternation (a, b, a, b, ...) and return the median of the
    per-pair ratios time_b / time_a, with both medians. Use it to compare a kernel with a
    bandwidth probe when the bandwidth itself drifts within seconds: each ratio compares
    samples taken ~a sample apart."""
    ta_ = timeit.Timer(stmt_a, timer=time.perf_counter, globals=ns_a)
    tb_ = timeit.Timer(stmt_b, timer=time.perf_counter, globals=ns_b)
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        na = _calibrate(ta_, min_time, ta_.timeit(1))
        nb = _calibrate(tb_, min_time, tb_.timeit(1))
        ta_.timeit(na)
        tb_.timeit(nb)
        a, b = [], []
        for _ in range(pairs):
            a.append(ta_.timeit(na) / na)
            b.append(tb_.timeit(nb) / nb)
    finally:
        if gc_was_enabled:
            gc.enable()
    ratios = [y / x for x, y in zip(a, b)]
    return dict(ratio=statistics.median(ratios), ratios=ratios, a_median=statistics.median(a),
                b_median=statistics.median(b), a=a, b=b)


def fma_peak(isa: str, f64: bool, threads: int, *, target: float = 0.02, repeats: int = 3) -> list[dict]:
    """The FMA peak probe (simdmlp._core._fma_peak: independent vector FMAs, no memory
    traffic) calibrated to about `target` seconds per sample: one dict per repeat with the
    iterations, seconds and GFLOP/s. Callers keep the best."""
    import simdmlp

    secs, _ = simdmlp._core._fma_peak(isa, f64, threads, 100_000)
    iters = max(100_000, int(100_000 * target / max(secs, 1e-6)))
    out = []
    for _ in range(repeats):
        secs, flops = simdmlp._core._fma_peak(isa, f64, threads, iters)
        out.append(dict(isa=isa, dtype="float64" if f64 else "float32", threads=threads, iters=iters,
                        seconds=secs, gflop_s=flops / secs / 1e9))
    return out
