"""Threads: determinism over thread counts, lengths and offsets; concurrent Python callers;
fork() after the OpenMP pool started; the thread-count defaults and set_num_threads checks.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import simdmlp
from conftest import (
    ELEMENTWISE_NAMES,
    FLOAT_DTYPES,
    assert_same_bits,
    backward_fn,
    forward_fn,
    make_grads,
    make_inputs,
)

NAMES = ELEMENTWISE_NAMES
DTYPE_IDS = [np.dtype(d).name for d in FLOAT_DTYPES]
BIG = (1 << 20) + 7  # above every single-thread threshold, odd so no chunk is "nice"
OPENMP = simdmlp.info()["openmp"] is not None


@pytest.fixture(autouse=True)
def _restore_threads():
    n = simdmlp.get_num_threads()
    yield
    simdmlp.set_num_threads(n)


@pytest.fixture(scope="module")
def big_inputs():
    """Large inputs, cached per dtype (no NaN/inf: every element exercises the math)."""
    cache = {}

    def get(dtype):
        key = np.dtype(dtype)
        if key not in cache:
            cache[key] = (make_inputs(BIG, dtype, seed=20, specials=False), make_grads(BIG, dtype, seed=20))
        return cache[key]

    return get


def _both(name, x, dy):
    return forward_fn(name)(x), backward_fn(name)(dy, x)


# ---------------------------------------------------------------------- determinism
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_bitwise_identical_across_thread_counts(name, dtype, isa, big_inputs):
    x, dy = big_inputs(dtype)
    results = {}
    for n in (1, 2, 3):
        simdmlp.set_num_threads(n)
        results[n] = _both(name, x, dy)
    for n in (2, 3):
        assert_same_bits(results[n][0], results[1][0], what=f"{name} {isa} forward, {n} threads vs 1")
        assert_same_bits(results[n][1], results[1][1], what=f"{name} {isa} backward, {n} threads vs 1")
    # and the multi-threaded big result equals per-chunk single calls on small pieces
    # (which test_activations checks against the reference): position independence.
    for lo in (0, 12345, BIG // 2 - 1, BIG - 1000):
        piece = slice(lo, lo + 1000)
        assert_same_bits(results[3][0][piece], forward_fn(name)(x[piece]), what=f"{name} forward piece at {lo}")
        assert_same_bits(results[3][1][piece], backward_fn(name)(dy[piece], x[piece]), what=f"{name} backward piece at {lo}")


# lengths around the single-thread thresholds (2^14 exp-class ops, 2^17 select ops) and
# odd offsets, so chunk boundaries and vector tails fall at different elements.
SLICE_OFFSETS = (0, 1, 2, 3, 5, 15, 16, 17, 63, 64, 65, 1001)
SLICE_LENGTHS = (1, 2, 31, 100, (1 << 14) - 1, (1 << 14) + 1, (1 << 15) + 3, (1 << 17) - 1, (1 << 17) + 5, (1 << 18) + 3)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_slices_match_long_array(name, dtype, isa, big_inputs):
    simdmlp.set_num_threads(2)
    x, dy = big_inputs(dtype)
    x, dy = x[: (1 << 18) + 2000], dy[: (1 << 18) + 2000]
    y, dx = _both(name, x, dy)
    for off in SLICE_OFFSETS:
        for length in SLICE_LENGTHS:
            s = slice(off, off + length)
            ys, dxs = _both(name, x[s], dy[s])
            assert_same_bits(ys, y[s], what=f"{name} {isa} forward slice [{off}:{off + length}]")
            assert_same_bits(dxs, dx[s], what=f"{name} {isa} backward slice [{off}:{off + length}]")
    # strided and reversed views of the long array: same bits too
    assert_same_bits(forward_fn(name)(x[::-1]), y[::-1], what=f"{name} reversed long array")
    assert_same_bits(forward_fn(name)(x[1::3]), y[1::3], what=f"{name} x[1::3] of long array")
    assert_same_bits(backward_fn(name)(dy[1::3], x[1::3]), dx[1::3], what=f"{name} backward x[1::3]")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_concurrent_python_threads(dtype, isa, big_inputs):
    """4 Python threads calling kernels at once (the GIL is released inside) give the
    serial results bit for bit."""
    simdmlp.set_num_threads(2)
    x, dy = big_inputs(dtype)
    x, dy = x[: 300_001], dy[: 300_001]
    jobs = [(name, k) for name in NAMES for k in range(3)]  # shifted slices per job
    def run(job):
        name, k = job
        return _both(name, x[k:], dy[k:])
    serial = [run(j) for j in jobs]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(2):
            parallel = list(pool.map(run, jobs))
            for job, (ys, dxs), (yp, dxp) in zip(jobs, serial, parallel):
                assert_same_bits(yp, ys, what=f"{job} forward, concurrent vs serial")
                assert_same_bits(dxp, dxs, what=f"{job} backward, concurrent vs serial")


def test_concurrent_in_place_on_separate_buffers(isa):
    """Concurrent in-place calls on distinct buffers do not interfere."""
    simdmlp.set_num_threads(2)
    base = make_inputs(200_003, np.float32, seed=21, specials=False)
    expected = {name: forward_fn(name)(base) for name in NAMES}
    def run(name):
        buf = base.copy()
        forward_fn(name)(buf, out=buf)
        return name, buf
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for name, buf in pool.map(run, list(NAMES) * 4):
            assert_same_bits(buf, expected[name], what=f"{name} concurrent in place")


# ---------------------------------------------------------------------------- fork
FORK_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    import simdmlp

    simdmlp.use_isa({isa!r})
    simdmlp.set_num_threads(2)
    x = np.linspace(-30, 30, (1 << 22) + 3).astype(np.float32)
    # multi-threaded kernels in the parent: the OpenMP pool is now running
    y = simdmlp.sigmoid(x)
    r = simdmlp.relu(x)
    g = simdmlp.tanh_backward(x, x)

    pid = os.fork()
    if pid == 0:
        signal.alarm(45)  # never outlive the test if a kernel hangs
        ok = False
        try:
            ok = (np.array_equal(simdmlp.sigmoid(x), y) and np.array_equal(simdmlp.relu(x), r)
                  and np.array_equal(simdmlp.tanh_backward(x, x), g)
                  and simdmlp.get_num_threads() >= 1)
            simdmlp.set_num_threads(2)
            ok = ok and np.array_equal(simdmlp.sigmoid(x), y)
        except BaseException as e:
            print("child failed:", repr(e), file=sys.stderr)
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print("child exit code", code, file=sys.stderr)
        sys.exit(code if code > 0 else 4)
    # the parent still works after the fork
    assert np.array_equal(simdmlp.sigmoid(x), y)
    print("ok")
    """
)


def _run_script(script, env=None, timeout=60):
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("isa_name", simdmlp.available_isas())
def test_fork_after_parallel_kernels(isa_name):
    try:
        proc = _run_script(FORK_SCRIPT.format(isa=isa_name))
    except subprocess.TimeoutExpired:
        pytest.fail("fork test hung (a forked child entering the OpenMP pool?)")
    assert proc.returncode == 0, f"rc={proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
    assert proc.stdout.strip().endswith("ok")


def test_fork_before_any_kernel_then_threads_in_child():
    script = textwrap.dedent(
        """
        import os, signal, sys
        import numpy as np
        import simdmlp
        x = np.linspace(-5, 5, (1 << 21) + 1)
        pid = os.fork()
        if pid == 0:
            signal.alarm(45)
            simdmlp.set_num_threads(2)
            a = simdmlp.sigmoid(x)
            simdmlp.set_num_threads(1)
            ok = np.array_equal(a, simdmlp.sigmoid(x))
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    try:
        proc = _run_script(script)
    except subprocess.TimeoutExpired:
        pytest.fail("fork test hung")
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------- defaults from env
def _clean_env(**values):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SIMDMLP_NUM_THREADS", "OMP_NUM_THREADS", "SIMDMLP_ISA")}
    env.update(values)
    return env


THREADS_SCRIPT = ("import json, os, simdmlp; print(json.dumps([simdmlp.get_num_threads(), "
                  "simdmlp.info()['num_threads'], len(os.sched_getaffinity(0))]))")


@pytest.mark.skipif(not OPENMP, reason="built without OpenMP: always 1 thread")
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SIMDMLP_NUM_THREADS": "3", "OMP_NUM_THREADS": "5"}, 3),
        ({"SIMDMLP_NUM_THREADS": "1", "OMP_NUM_THREADS": "4"}, 1),
        ({"OMP_NUM_THREADS": "5"}, 5),
        ({"SIMDMLP_NUM_THREADS": "7"}, 7),
        ({}, "cpus"),
    ],
    ids=["simdmlp-over-omp", "simdmlp-1-over-omp", "omp-only", "simdmlp-only", "cpu-count"],
)
def test_default_thread_count_from_environment(env, expected):
    proc = _run_script(THREADS_SCRIPT, env=_clean_env(**env))
    assert proc.returncode == 0, proc.stderr
    got, info_threads, cpus = json.loads(proc.stdout)
    want = cpus if expected == "cpus" else expected
    assert got == want, f"env {env}: get_num_threads() = {got}, expected {want}"
    assert info_threads == want


# ----------------------------------------------------------- set_num_threads checks
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_set_get_num_threads(n):
    simdmlp.set_num_threads(n)
    assert simdmlp.get_num_threads() == (n if OPENMP else 1)
    assert simdmlp.info()["num_threads"] == simdmlp.get_num_threads()


@pytest.mark.parametrize("bad", [2.0, "2", None, 1.5, [2], True])
def test_set_num_threads_type_error(bad):
    before = simdmlp.get_num_threads()
    with pytest.raises(TypeError, match="simdmlp.set_num_threads"):
        simdmlp.set_num_threads(bad)
    assert simdmlp.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, -(2**31), -(2**64)])
def test_set_num_threads_value_error(bad):
    before = simdmlp.get_num_threads()
    with pytest.raises(ValueError, match="simdmlp.set_num_threads"):
        simdmlp.set_num_threads(bad)
    assert simdmlp.get_num_threads() == before


def test_set_num_threads_huge_is_clamped_or_rejected_cleanly():
    """A huge count is either accepted (the kernels cap it) or a ValueError; never an
    internal conversion error."""
    for n in (5000, 2**31, 2**64):
        try:
            simdmlp.set_num_threads(n)
        except ValueError:
            continue
        assert simdmlp.get_num_threads() >= 1


def test_set_num_threads_accepts_numpy_integers():
    """np.int64 from array arithmetic is an integer (operator.index), as for range() or
    torch.set_num_threads."""
    simdmlp.set_num_threads(np.int64(2))
    assert simdmlp.get_num_threads() == (2 if OPENMP else 1)


# ------------------------------------------------------------------- GIL release
class _Spinner:
    """A Python thread counting as fast as it can: it only advances while no other
    thread holds the GIL."""

    def __init__(self):
        self.count = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop:
            self.count += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join()

    def rate_while_sleeping(self, seconds=0.05):
        c0, t0 = self.count, time.perf_counter()
        time.sleep(seconds)
        return (self.count - c0) / (time.perf_counter() - t0)

    def rate_during(self, call, total=0.2):
        """Counts per second inside call() (repeated until `total` seconds of calls)."""
        counted, spent = 0, 0.0
        while spent < total:
            c0, t0 = self.count, time.perf_counter()
            call()
            spent += time.perf_counter() - t0
            counted += self.count - c0
        return counted / spent


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("name", NAMES)
def test_kernels_release_the_gil(name, direction):
    """While a kernel runs, another Python thread keeps running. Measured as the counting
    rate of a spinning thread inside kernel calls on 2^23 float64 (single-threaded scalar
    kernels, 10-150 ms per call) relative to its rate while the main thread sleeps.
    Calibration on a 2-vCPU VM: ~0.5 when the GIL is released, ~0.02 for calls of similar
    length that hold it (sorted() of a list).
    The test asks for 0.3, best of 3 tries."""
    simdmlp.set_num_threads(1)  # leave a core for the spinner
    simdmlp.use_isa("scalar")
    x = np.linspace(-30, 30, 1 << 23)
    fn = forward_fn(name) if direction == "forward" else backward_fn(name)
    call = (lambda: fn(x)) if direction == "forward" else (lambda: fn(x, x))
    call()  # first touch of the allocator's pages outside the measurement
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # hand the GIL over within 0.1 ms when asked
    try:
        with _Spinner() as spin:
            ratios = []
            for _ in range(3):
                ratios.append(spin.rate_during(call) / spin.rate_while_sleeping())
                if ratios[-1] > 0.3:
                    break
    finally:
        sys.setswitchinterval(old)
    assert max(ratios) > 0.3, f"{name} {direction}: other threads ran at {ratios} of their free rate"
