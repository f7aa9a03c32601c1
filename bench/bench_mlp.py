#!/usr/bin/env python3
"""simdmlp MLP training-step benchmark: one step of MLP 784-512-256-10 (forward, softmax
cross-entropy on integer labels, backward, optimizer step) with ``simdmlp.nn`` /
``simdmlp.optim``, against the pure-NumPy reference MLP and PyTorch, and against this
machine's FMA peak measured in the same run.

    python bench/bench_mlp.py                  # full grid, ~1.5 min on 2 quiet cores (more with retries)
    python bench/bench_mlp.py --quick          # smoke subset, < 30 s
    python bench/bench_mlp.py --wait-quiet 300 # wait for quiet stretches first (the machine is shared)
    python bench/bench_mlp.py --batches 128 --threads 1 --no-torch

What is timed (float32; the grid is declared below; every statement is in STMTS and the JSON):

* native: ``model = simdmlp.nn.MLP([784, 512, 256, 10], activation=act, rng=0)``,
  ``loss = nn.SoftmaxCrossEntropyLoss()``, ``opt = simdmlp.optim.Adam(model.parameters())``,
  and one step is ``model.train_step(xb, yb, loss, opt)``: what ``fit`` runs per batch
  (intermediates in reused buffers, no grad_x product for the first layer).
* native-api: the same model through the explicit layer API, as a reader of "Deep Learning
  from Scratch" writes the loop: ``out = model.forward(xb); loss.forward(out, yb);
  model.backward(loss.backward()); opt.step()`` (new arrays for every result, and the
  first layer's grad_x, which ``backward`` returns).
* numpy: ``simdmlp.reference.train_step(params, states, xb, yb, "cross_entropy", "adam",
  hyper, act)``: the readable NumPy oracle (matmuls on NumPy's BLAS, the rest plain NumPy),
  from the native model's initial weights.
* torch (when importable): three ``torch.nn.Linear`` layers holding the native model's
  initial weights (transposed into torch's (out, in) layout), ``F.relu`` / ``F.gelu``
  (erf form, as simdmlp's "gelu"), ``F.cross_entropy``, ``torch.optim.Adam`` with its
  defaults; one step is ``opt.zero_grad(set_to_none=True)``, forward, ``loss.backward()``,
  ``opt.step()`` (no ``loss.item()``; the native step returns the loss as a float).
* Optimizers run torch.optim's default hyper-parameters (Adam lr=1e-3) or HYPER below (SGD
  with momentum). Every implementation cycles through the same pool of N_BATCHES batches
  (standard normal x, uniform labels, fixed seed), and every timing starts from a fresh
  model with the same initial weights.
* Threads: 1 and all (``simdmlp.set_num_threads`` / ``torch.set_num_threads``; NumPy's BLAS
  through ``threadpoolctl.threadpool_limits`` when installed, else NumPy keeps its default
  BLAS threads; the JSON says which). NumPy's elementwise work is single-threaded.

Method. Timing is ``harness.measure`` (notes/baseline.md): a warm-up call, a loop sized so
one sample takes >= --min-time, discarded warm-up samples, then --samples samples with gc
off; the figure is the median time per step, spread = (max - min) / median. Steps slower
than SLOW_STEP get 3 samples. The grid runs --passes times (the implementations' order
rotates from case to case); a case's figure is the median of its pass medians and its
spread spans every sample. A multi-thread timing more than 1.5x slower than the same
implementation at 1 thread is re-measured once (within --retry-budget) and the best kept:
on this shared machine that is nearly always another process holding the second CPU.
Flags: b = other processes used > 0.25 CPUs while native was timed; c = a multi-thread
timing stayed > 1.5x slower than 1 thread; w = the correctness check warned for the case.

Checks before timing: from the same initial weights on the same batches, every
implementation must report native's loss at each of the first CHECK_STEPS steps within a
relative CHECK_RTOL (steps 2 and later also check backward and the optimizer); a mismatch
prints a WARNING.

Arithmetic floor. A step needs 2B*sum(in*out) FLOPs forward and 4B*sum(in*out) backward
(grad_x and grad_W) less 2B*784*512 for the first layer's grad_x, which nobody needs:
~308 MFLOP at B = 128 (137 forward + 171 backward). train_step and PyTorch skip that
product; native-api and the NumPy reference compute it (411 MFLOP). Bias, activation,
softmax and the optimizer add no FLOPs worth counting, but Adam moves 28 B per parameter
(reads p, g, m, v; writes p, m, v: 15 MB per step for 536K parameters); "where time goes"
shows what that costs here. floor = needed FLOPs / float32 FMA peak of simdmlp's ISA at
the same thread count (``simdmlp._core._fma_peak``, best of a few repeats at the start and
at the end of the run); "xfloor" = step time / floor.

Python share of the native step. --samples pairs of samples alternate plain steps with the
same steps run with every function of ``simdmlp._core`` (and each alias of one in simdmlp,
simdmlp.nn, simdmlp.optim) wrapped in a timer (outermost calls only). Kernel time = time
inside those calls (pybind11 argument conversion included); non-kernel time = plain step
time - kernel time, each the smallest over the samples (other processes only add time):
Python, NumPy glue (label checks and indexing, the loss sum and gradient, copies) and
allocation. (The timers' own cost is measured in context as timed
step - plain step; it is several times what a hot loop of one timed call suggests, as is
every Python line that runs right after a kernel has swept the caches.) Kernel time is
split into phases by function (dense_forward -> forward, dense_backward -> backward,
*_step -> optimizer, others -> loss), and so is the wall time of the timed run: native-api
times its four calls, and for train_step the methods it calls (layer._train_forward /
_train_backward, loss._forward / _backward_checked, opt.step) are timed on the instances
when they exist; the non-kernel time per phase comes from that run (timers' cost
included). Like the timings, a multi-thread run more than 1.5x slower than at 1 thread
is re-run once, and rows carry the b / c flags.

Allocations. After warm-up, one step of each native variant runs under ``tracemalloc``
(every NumPy array, including those the kernels return; not C++ scratch): peak bytes above
the step's start and the net change (native-api also per phase; a phase's net includes the
array it returns).

Output: the FMA peak, ms/step with speedups and xfloor, the Python share, where time goes
per kernel (batch 128), allocations, the checks, then "Targets" (TARGETS; float32, 1 thread,
batch 128, Adam, native = train_step) with PASS / MISS / n/a, and a JSON file (default
bench/results/bench_mlp_<host>_<date>.json) with every sample, the peaks, the checks and
the machine (run.machine_facts, NumPy's BLAS from threadpoolctl, PyTorch's build).
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime
import gc
import itertools
import json
import socket
import statistics
import sys
import time
import timeit
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import simdmlp  # noqa: E402
from simdmlp import nn, optim  # noqa: E402
from harness import CpuLoad, fma_peak, fmt_time, measure  # noqa: E402
from run import BUSY, CONTENDED, machine_facts, wait_quiet  # noqa: E402

try:
    import threadpoolctl
except ImportError:  # NumPy then runs with its default BLAS thread count
    threadpoolctl = None

SEED = 20240605

# --- the grid -------------------------------------------------------------------------------
SIZES = [784, 512, 256, 10]                 # the MLP
ACTS = ["relu", "gelu"]                     # hidden activation (gelu: the erf form)
BATCHES = [32, 128, 1024]
OPTIMIZERS = ["adam", "sgd"]                # sgd = SGD with momentum
OPT_BATCHES = {"adam": None, "sgd": [128]}  # batches an optimizer runs at (None = all)
HYPER = {"adam": {}, "sgd": {"lr": 0.01, "momentum": 0.9}}  # {} = torch.optim's defaults
IMPLS = ["native", "native-api", "numpy", "torch"]
N_BATCHES = 4                               # distinct batches each implementation cycles through
QUICK = dict(batches=[32, 128], optimizers=["adam"], passes=1)
TARGET_BATCH = 128

# --- checks and timing ----------------------------------------------------------------------
CHECK_STEPS = 3
CHECK_RTOL = 1e-4       # relative difference of the loss values at each checked step
SLOW_STEP = 0.1         # s/step above which a timing takes 3 samples
SETTLE = 0.03           # pause (s) before a multi-thread timing (lets the previous pool idle)

# --- targets (the issue's; float32, 1 thread, batch 128, Adam, native = train_step) ----------
TARGETS = {
    "vs_torch": 2.0,        # torch time / native time, >=
    "x_floor": 2.0,         # native time / arithmetic floor, <=
    "vs_numpy": 2.0,        # NumPy-reference time / native time, >=
    "python_share": 10.0,   # % of the native step outside the kernels, <
}

# The statements timed; names come from each implementation's namespace (build_*). Each
# leaves the step's loss in `lv` (the checks read it).
STMTS = {
    "native": "xb, yb = next(data)\n"
              "lv = model.train_step(xb, yb, loss, opt)",
    "native-api": "xb, yb = next(data)\n"
                  "out = model.forward(xb)\n"
                  "lv = loss.forward(out, yb)\n"
                  "model.backward(loss.backward())\n"
                  "opt.step()",
    "numpy": "xb, yb = next(data)\n"
             "lv = ref.train_step(params, states, xb, yb, 'cross_entropy', opt_name, hyper, act)",
    "torch": "xb, yb = next(data)\n"
             "opt.zero_grad(set_to_none=True)\n"
             "h = fa(l1(xb))\n"
             "h = fa(l2(h))\n"
             "lv = F.cross_entropy(l3(h), yb)\n"
             "lv.backward()\n"
             "opt.step()",
}
PHASES = ("forward", "loss", "backward", "optimizer")


@dataclasses.dataclass(frozen=True)
class Case:
    act: str
    opt: str
    batch: int

    @property
    def label(self) -> str:
        return f"{self.act} {self.opt} B={self.batch}"


def layer_sum() -> int:
    return sum(i * o for i, o in zip(SIZES[:-1], SIZES[1:]))


def flops_needed(batch: int) -> float:
    """Forward 2B sum(in*out) + backward 4B sum(in*out) - the first layer's grad_x."""
    return 6 * batch * layer_sum() - 2 * batch * SIZES[0] * SIZES[1]


def flops_with_input_grad(batch: int) -> float:
    """What native-api and the NumPy reference compute (the first layer's grad_x too)."""
    return 6 * batch * layer_sum()


def n_params() -> int:
    return layer_sum() + sum(SIZES[1:])


def make_cases(acts, batches, optimizers) -> list:
    return [Case(a, o, b) for o in optimizers for a in acts for b in batches
            if OPT_BATCHES[o] is None or b in OPT_BATCHES[o]]


# --- the implementations --------------------------------------------------------------------
def make_batches(batch: int) -> list:
    rng = np.random.default_rng([SEED, batch])
    return [(rng.standard_normal((batch, SIZES[0]), dtype=np.float32),
             rng.integers(0, SIZES[-1], batch).astype(np.int64)) for _ in range(N_BATCHES)]


def initial_weights(act: str) -> list:
    """The native model's initial weights [(W (in, out), b)], float32."""
    return [(layer.W.copy(), layer.b.copy()) for layer in nn.MLP(SIZES, activation=act, rng=0).layers]


def build_native(case: Case, batches: list) -> dict:
    model = nn.MLP(SIZES, activation=case.act, rng=0)
    cls = {"adam": optim.Adam, "sgd": optim.SGD}[case.opt]
    return dict(model=model, loss=nn.SoftmaxCrossEntropyLoss(), opt=cls(model.parameters(), **HYPER[case.opt]),
                data=itertools.cycle(batches))


def build_numpy(case: Case, batches: list, weights: list) -> dict:
    return dict(ref=simdmlp.reference, params=[(W.copy(), b.copy()) for W, b in weights], states=[],
                opt_name=case.opt, hyper=dict(HYPER[case.opt]), act=case.act, data=itertools.cycle(batches))


def build_torch(case: Case, batches: list, weights: list, torch) -> dict:
    F = torch.nn.functional
    lins = []
    with torch.no_grad():
        for W, b in weights:
            lin = torch.nn.Linear(W.shape[0], W.shape[1])
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            lin.bias.copy_(torch.from_numpy(b))
            lins.append(lin)
    params = [p for lin in lins for p in lin.parameters()]
    cls = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[case.opt]
    hyper = dict(HYPER[case.opt])
    if case.opt == "sgd":
        hyper.setdefault("lr", 1e-3)  # simdmlp.optim.SGD's default (torch's SGD has none)
    pool = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
    return dict(torch=torch, F=F, l1=lins[0], l2=lins[1], l3=lins[2], opt=cls(params, **hyper),
                fa={"relu": F.relu, "gelu": F.gelu}[case.act], data=itertools.cycle(pool))


# --- kernel timers (the Python share of the native step) --------------------------------------
def kernel_phase(func: str) -> str:
    if func in ("dense_forward", "dense", "matmul"):
        return "forward"
    if func == "dense_backward":
        return "backward"
    if func.endswith("_step"):
        return "optimizer"
    return "loss"  # softmax / log_softmax (the activations are fused into the dense kernels)


class KernelTimers:
    """Wraps every function of simdmlp._core (and its aliases in simdmlp, simdmlp.nn and
    simdmlp.optim) with a timer; only outermost calls count (a kernel calling back into
    _core is not counted twice). acc[key] = seconds and calls[key] = count, key =
    (function, label): the W shape for the dense functions (+ " no-gx" when a
    dense_backward skips grad_x), else the first argument's shape."""

    W_ARG = {"dense_forward": 1, "dense": 1, "matmul": 1, "dense_backward": 2}

    def __init__(self):
        self.funcs = {name: f for name, f in vars(simdmlp._core).items()
                      if callable(f) and not isinstance(f, type) and not name.startswith("__")}
        self.by_id = {id(f): name for name, f in self.funcs.items()}
        self.acc = collections.defaultdict(float)
        self.calls = collections.Counter()
        self.total = 0.0
        self.n_calls = 0
        self.depth = 0
        self.saved = []

    def _label(self, name, args, kw):
        i = self.W_ARG.get(name, 0)
        shape = getattr(args[i] if len(args) > i else kw.get("W"), "shape", None)
        label = "x".join(map(str, shape)) if shape is not None else ""
        return label + (" no-gx" if name == "dense_backward" and kw.get("need_grad_x", True) is False else "")

    def _wrap(self, name, f):
        pc, acc, calls = time.perf_counter, self.acc, self.calls

        def wrapped(*args, **kw):
            if self.depth:
                return f(*args, **kw)
            self.depth = 1
            t0 = pc()
            try:
                return f(*args, **kw)
            finally:
                dt = pc() - t0
                self.depth = 0
                key = (name, self._label(name, args, kw))
                acc[key] += dt
                calls[key] += 1
                self.total += dt
                self.n_calls += 1
        return wrapped

    def install(self):
        wrappers = {name: self._wrap(name, f) for name, f in self.funcs.items()}
        for mod in (simdmlp._core, simdmlp, nn, optim):
            for attr, obj in list(vars(mod).items()):
                name = self.by_id.get(id(obj))
                if name is not None:
                    self.saved.append((mod, attr, obj))
                    setattr(mod, attr, wrappers[name])

    def uninstall(self):
        for mod, attr, obj in reversed(self.saved):
            setattr(mod, attr, obj)
        self.saved.clear()

    def reset(self):
        self.acc.clear()
        self.calls.clear()
        self.total, self.n_calls = 0.0, 0


# --- the run --------------------------------------------------------------------------------
class Bench:
    def __init__(self, args, torch, threads):
        self.args, self.torch, self.threads = args, torch, threads
        self.tall = max(threads)
        self.isa = simdmlp.current_isa()
        self.records, self.peaks, self.checks, self.errors = [], [], [], []
        self.overhead, self.breakdown, self.allocs = [], [], []
        self.retry_budget = 0.0 if args.quick else args.retry_budget
        self.wait_budget, self.waited, self.waits = args.wait_quiet, 0.0, []
        self.timing = dict(min_time=args.min_time, samples=args.samples, warmup_samples=args.warmup_samples)
        self.weights = {}

    def impls(self):
        return IMPLS if self.torch is not None else [i for i in IMPLS if i != "torch"]

    def set_threads(self, t: int):
        simdmlp.set_num_threads(t)
        if self.torch is not None:
            self.torch.set_num_threads(t)

    def build(self, impl: str, case: Case, batches: list) -> dict:
        if impl.startswith("native"):
            return build_native(case, batches)
        if case.act not in self.weights:
            self.weights[case.act] = initial_weights(case.act)
        if impl == "numpy":
            return build_numpy(case, batches, self.weights[case.act])
        return build_torch(case, batches, self.weights[case.act], self.torch)

    def error(self, msg):
        self.errors.append(msg)
        print("  ERROR", msg, file=sys.stderr, flush=True)

    # peaks -------------------------------------------------------------------------------
    def measure_peaks(self, tag: str):
        """float32 FMA peak of simdmlp's ISA at each thread count (best of a few repeats)."""
        target, repeats = (0.01, 2) if self.args.quick else (0.02, 3)
        for t in self.threads:
            self.peaks += [dict(p, pass_=tag) for p in fma_peak(self.isa, False, t, target=target, repeats=repeats)]

    def peak(self, threads: int) -> float | None:
        v = [p["gflop_s"] for p in self.peaks if p["threads"] == threads]
        return max(v) if v else None

    def floor(self, case: Case, threads: int) -> float | None:
        pk = self.peak(threads)
        return flops_needed(case.batch) / (pk * 1e9) if pk else None

    # correctness -------------------------------------------------------------------------
    def check(self, case: Case):
        """Losses of CHECK_STEPS steps of every implementation from the same weights."""
        batches = make_batches(case.batch)
        self.set_threads(self.tall)
        losses = {}
        for impl in self.impls():
            try:
                ns = self.build(impl, case, batches)
                vals = []
                for _ in range(CHECK_STEPS):
                    local = dict(ns)
                    exec(STMTS[impl], local)
                    lv = local["lv"]
                    vals.append(float(lv.item() if hasattr(lv, "item") else lv))
                losses[impl] = vals
            except Exception as exc:  # a broken peer must not stop the run
                self.error(f"check {impl} {case.label}: {type(exc).__name__}: {exc}")
        ref = losses.get("native")
        for impl, vals in losses.items():
            if impl == "native" or ref is None:
                continue
            rel = [abs(a - b) / max(abs(b), 1e-30) for a, b in zip(vals, ref)]
            ok = bool(np.all(np.isfinite(vals))) and max(rel) <= CHECK_RTOL
            self.checks.append(dict(case=case.label, act=case.act, opt=case.opt, batch=case.batch, impl=impl,
                                    losses=vals, native_losses=ref, rel_diff=rel, ok=ok))
            if not ok:
                print(f"WARNING: {case.label}: {impl} loss differs from native over {CHECK_STEPS} steps from "
                      f"the same weights: {['%.7g' % v for v in vals]} vs {['%.7g' % v for v in ref]} "
                      f"(relative {max(rel):.2g} > {CHECK_RTOL:g})", flush=True)

    def check_failed(self, case: Case) -> bool:
        return any(c["case"] == case.label and not c["ok"] for c in self.checks)

    # timing -------------------------------------------------------------------------------
    def time_impl(self, case: Case, impl: str, t: int, pass_: int):
        stmt = STMTS[impl]
        ref = self.get(case, impl, 1, pass_) if t > 1 else None
        attempts = []
        for attempt in range(2 if ref else 1):
            if attempt and self.retry_budget <= 0:
                break
            t0 = time.perf_counter()
            try:
                ns = self.build(impl, case, make_batches(case.batch))
                limit = threadpoolctl.threadpool_limits(t, user_api="blas") \
                    if impl == "numpy" and threadpoolctl else None
                try:
                    if t > 1:
                        time.sleep(SETTLE)
                    first = timeit.Timer(stmt, timer=time.perf_counter, globals=ns).timeit(1)
                    kw = dict(self.timing)
                    if first > SLOW_STEP:
                        kw.update(samples=min(3, kw["samples"]), warmup_samples=0)
                    load = CpuLoad()
                    tm = measure(stmt, ns, **kw).as_dict()
                    foreign = load.foreign()
                finally:
                    if limit is not None:
                        limit.restore_original_limits()
            except Exception as exc:
                self.error(f"time {impl} {case.label} T={t}: {type(exc).__name__}: {exc}")
                return None
            if attempt:
                self.retry_budget -= time.perf_counter() - t0
            attempts.append(dict(tm, foreign_cpu=foreign))
            if ref is None or tm["median"] <= CONTENDED * ref["median"]:
                break
        best = min(attempts, key=lambda a: a["median"])
        rec = dict(act=case.act, opt=case.opt, batch=case.batch, impl=impl, threads=t, pass_=pass_, stmt=stmt,
                   retried=len(attempts) > 1, contended=bool(ref) and best["median"] > CONTENDED * ref["median"],
                   attempts=attempts, **best)
        self.records.append(rec)
        return rec

    def _match(self, r, case, impl, t):
        return (r["act"], r["opt"], r["batch"], r["impl"], r["threads"]) == (case.act, case.opt, case.batch, impl, t)

    def get(self, case: Case, impl: str, t: int, pass_: int):
        return next((r for r in self.records if self._match(r, case, impl, t) and r["pass_"] == pass_), None)

    def merged(self, case: Case, impl: str, t: int) -> dict | None:
        """Median of the pass medians; min and max over every sample of every pass."""
        rs = [r for r in self.records if self._match(r, case, impl, t)]
        if not rs:
            return None
        med = statistics.median(r["median"] for r in rs)
        lo, hi = min(r["min"] for r in rs), max(r["max"] for r in rs)
        return dict(median=med, min=lo, max=hi, spread=(hi - lo) / med, passes=len(rs),
                    contended=any(r["contended"] for r in rs),
                    foreign_cpu=max((r["foreign_cpu"] or 0) for r in rs))

    def wait_if_busy(self, stage: str, max_wait: float = 120.0, window: float = 2.0):
        """With --wait-quiet budget left, wait until other processes leave the machine idle."""
        if self.wait_budget <= 0:
            return
        spent, fl = wait_quiet(min(self.wait_budget, max_wait), window=window, verbose=False)
        self.wait_budget -= spent
        self.waited += spent
        if spent > window + 1:
            self.waits.append(dict(stage=stage, waited_s=spent, foreign_cpu_after=fl))
            print(f"  (waited {spent:.0f} s for other processes before {stage})", flush=True)

    def run_case(self, case: Case, index: int, pass_: int):
        self.wait_if_busy(case.label)
        t0 = time.perf_counter()
        impls = self.impls()
        k = (index + pass_) % len(impls)
        order = impls[k:] + impls[:k]  # rotate, so no implementation always runs first
        for t in self.threads:
            self.set_threads(t)
            for impl in order:
                self.time_impl(case, impl, t, pass_)
        print(f"  pass {pass_ + 1}: {case.label:20s} {time.perf_counter() - t0:5.1f} s", flush=True)

    # Python share ---------------------------------------------------------------------------
    def python_share(self, case: Case, t: int, variant: str, kt: KernelTimers):
        """Run a native variant with its kernels timed (see the docstring). Phase wall
        times: native-api times its four calls; for native (train_step) the methods
        train_step calls are timed on the instances, when they exist (private hooks of
        simdmlp.nn: layer._train_forward / _train_backward, loss._forward /
        _backward_checked, and opt.step)."""
        self.set_threads(t)
        ns = build_native(case, make_batches(case.batch))
        model, loss, opt, data = ns["model"], ns["loss"], ns["opt"], ns["data"]
        pc = time.perf_counter
        cur = [[0.0] * 5]  # the current sample's wall time per phase, then the whole step
        hooks = []

        def hook(obj, name, phase):
            f = getattr(obj, name, None)
            if f is None or name in vars(obj):
                return
            i = PHASES.index(phase)

            def timed(*args, **kw):
                t0 = pc()
                try:
                    return f(*args, **kw)
                finally:
                    cur[0][i] += pc() - t0
            hooks.append((obj, name, timed))

        if variant == "native":
            for layer in model.layers:
                hook(layer, "_train_forward", "forward")
                hook(layer, "_train_backward", "backward")
            hook(loss, "_forward", "loss")
            hook(loss, "_backward_checked", "loss")
            hook(opt, "step", "optimizer")

            def step():
                xb, yb = next(data)
                w0 = pc()
                model.train_step(xb, yb, loss, opt)
                cur[0][4] += pc() - w0
        else:  # native-api, phase by phase
            def step():
                xb, yb = next(data)
                wall = cur[0]
                w0 = pc()
                out = model.forward(xb)
                w1 = pc()
                loss.forward(out, yb)
                g = loss.backward()
                w2 = pc()
                model.backward(g)
                w3 = pc()
                opt.step()
                w4 = pc()
                for i, dt in enumerate((w1 - w0, w2 - w1, w3 - w2, w4 - w3, w4 - w0)):
                    wall[i] += dt

        def install():
            kt.install()
            for obj, name, timed in hooks:
                setattr(obj, name, timed)

        def uninstall():
            kt.uninstall()
            for obj, name, _ in hooks:
                delattr(obj, name)

        gc_was = gc.isenabled()
        gc.disable()
        load = CpuLoad()
        try:
            t_first = pc()
            for _ in range(3):  # warm-up: optimizer state, buffers, thread pool
                step()
            n = max(3, int(self.args.min_time / max((pc() - t_first) / 3, 1e-6)) + 1)
            if t > 1:
                time.sleep(SETTLE)
            samples, walls = [], [0.0] * 5
            install()
            step()  # warm the timers
            uninstall()
            kt.reset()
            for _ in range(max(3, self.args.samples)):
                cur[0] = [0.0] * 5
                for _ in range(n):  # plain steps
                    step()
                u = cur[0][4] / n
                cur[0] = [0.0] * 5
                k0, c0 = kt.total, kt.n_calls
                install()
                try:
                    for _ in range(n):  # the same steps, timed inside
                        step()
                finally:
                    uninstall()
                k = (kt.total - k0) / n
                samples.append(dict(step_s=u, kernel_s=k, share_pct=100 * (u - k) / u, timed_step_s=cur[0][4] / n,
                                    calls_per_step=(kt.n_calls - c0) / n))
                walls = [a + b for a, b in zip(walls, cur[0])]
            acc, ncalls, steps = dict(kt.acc), dict(kt.calls), n * len(samples)
            foreign = load.foreign()
        finally:
            if gc_was:
                gc.enable()
        # Other processes only ever add time: the fastest plain sample and the smallest kernel
        # time are the best estimates of each (the median of the per-pair shares is kept too).
        u_min, k_min = min(s["step_s"] for s in samples), min(s["kernel_s"] for s in samples)
        mid = sorted(samples, key=lambda s: s["share_pct"])[len(samples) // 2]
        kphase = {p: 0.0 for p in PHASES}
        for (func, _), secs in acc.items():
            kphase[kernel_phase(func)] += secs / steps
        wphase = None
        if variant == "native-api" or hooks:
            wphase = {p: walls[i] / steps for i, p in enumerate(PHASES)}
            wphase["outside"] = walls[4] / steps - sum(wphase.values())
        rec = dict(variant=variant, act=case.act, opt=case.opt, batch=case.batch, threads=t, steps_per_sample=n,
                   share_pct=100 * (u_min - k_min) / u_min, step_s=u_min, kernel_s=k_min, nonkernel_s=u_min - k_min,
                   share_pct_median_pair=mid["share_pct"], timed_step_s=min(s["timed_step_s"] for s in samples),
                   calls_per_step=mid["calls_per_step"], method_hooks=[f"{type(o).__name__}.{m}" for o, m, _ in hooks],
                   foreign_cpu=foreign, kernel_by_phase_s=kphase, wall_by_phase_timed_s=wphase, samples=samples)
        rows = [dict(variant=variant, act=case.act, opt=case.opt, batch=case.batch, threads=t, func=func,
                     shape=label, calls_per_step=ncalls[(func, label)] / steps, seconds_per_step=secs / steps)
                for (func, label), secs in sorted(acc.items(), key=lambda kv: -kv[1])]
        return rec, rows

    def run_python_share(self, case: Case, t: int, variant: str, kt: KernelTimers):
        """python_share, re-run once (within the retry budget) when a multi-thread step is
        more than CONTENDED x slower than at 1 thread; the faster run is kept."""
        ref = self.get_overhead(case, 1, variant) if t > 1 else None
        t0 = time.perf_counter()
        rec, rows = self.python_share(case, t, variant, kt)
        if ref and rec["step_s"] > CONTENDED * ref["step_s"] and self.retry_budget > 0:
            rec2, rows2 = self.python_share(case, t, variant, kt)
            self.retry_budget -= time.perf_counter() - t0
            if rec2["step_s"] < rec["step_s"]:
                rec, rows = rec2, rows2
            rec["retried"] = True
        rec["contended"] = bool(ref) and rec["step_s"] > CONTENDED * ref["step_s"]
        self.overhead.append(rec)
        self.breakdown.extend(rows)
        if rec["calls_per_step"] == 0:
            print(f"WARNING: {variant} {case.label} T={t}: the kernel timers saw no calls (does simdmlp.nn call "
                  f"_core under other names?); its Python share is not measured", flush=True)

    def get_overhead(self, case: Case, t: int, variant: str = "native"):
        return next((o for o in self.overhead if (o["variant"], o["act"], o["opt"], o["batch"], o["threads"]) ==
                     (variant, case.act, case.opt, case.batch, t)), None)

    # allocations ------------------------------------------------------------------------------
    def allocations(self, case: Case, variant: str):
        """Bytes allocated (tracemalloc) during one step after warm-up, 1 thread."""
        self.set_threads(1)
        ns = build_native(case, make_batches(case.batch))
        model, loss, opt, data = ns["model"], ns["loss"], ns["opt"], ns["data"]
        if variant == "native":
            phases = [("step", lambda xb, yb, st: model.train_step(xb, yb, loss, opt))]
        else:
            phases = [("forward", lambda xb, yb, st: model.forward(xb)),
                      ("loss", lambda xb, yb, st: (loss.forward(st["forward"], yb), loss.backward())[1]),
                      ("backward", lambda xb, yb, st: model.backward(st["loss"])),
                      ("optimizer", lambda xb, yb, st: opt.step())]
        res = {}
        for rep in range(5):  # 3 warm-up steps, then 2 traced; the last is reported
            if rep == 3:
                tracemalloc.start()
            xb, yb = next(data)
            st, res = {}, {}
            tr = tracemalloc.is_tracing()
            s0 = tracemalloc.get_traced_memory()[0] if tr else 0
            step_peak = 0
            for name, fn in phases:
                if tr:
                    c0 = tracemalloc.get_traced_memory()[0]
                    tracemalloc.reset_peak()
                st[name] = fn(xb, yb, st)
                if tr:
                    c1, pk = tracemalloc.get_traced_memory()
                    res[name] = dict(peak_bytes=pk - c0, net_bytes=c1 - c0)
                    step_peak = max(step_peak, pk - s0)
            if tr and variant != "native":
                st.clear()
                res["step"] = dict(peak_bytes=step_peak, net_bytes=tracemalloc.get_traced_memory()[0] - s0)
        tracemalloc.stop()
        self.allocs.append(dict(variant=variant, act=case.act, opt=case.opt, batch=case.batch, threads=1, **res))


# --- printing ---------------------------------------------------------------------------------
def _ms(r):
    return "-" if r is None else f"{1e3 * r['median']:.3f}"


def _pct(r):
    return "-" if r is None else f"{100 * r['spread']:.0f}%"


def _x(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def _ratio(a, b):
    return b["median"] / a["median"] if a and b else None


def _kib(n):
    return f"{n / 1024:.0f}" if abs(n) >= 10240 or n == 0 else f"{n / 1024:.1f}"


def print_peaks(bench: Bench):
    vals = ", ".join(f"{t}T {bench.peak(t):.1f}" for t in bench.threads if bench.peak(t))
    print(f"\nFMA peak, float32, ISA {bench.isa} (simdmlp._core._fma_peak, best of the repeats at start and end), "
          f"GFLOP/s: {vals}")
    if bench.tall > 1 and bench.peak(1) and bench.peak(bench.tall):
        print(f"  scaling {bench.tall}T/1T {bench.peak(bench.tall) / bench.peak(1):.2f}x "
              f"(~{bench.tall} when the other CPUs are really ours)")


def print_main(bench: Bench, cases: list):
    print("\nms per training step (median over passes; sprd = (max - min) / median over all samples of native); "
          "native = model.train_step,\napi = forward/loss/backward/step calls; x<peer> = peer time / native time; "
          "floor = needed FLOPs / FMA peak at T threads;\nxfloor = native time / floor; py% = share of the native "
          "step outside the kernels")
    head = (f"{'act':4s} {'opt':4s} {'B':>4} {'T':>2} | {'native':>8} {'sprd':>4} {'api':>8} | {'numpy':>8} "
            f"{'torch':>8} | {'xapi':>5} {'xnumpy':>6} {'xtorch':>6} | {'MFLOP':>5} {'floor':>6} {'xfloor':>6} | "
            f"{'py%':>5} | flags")
    print(head)
    print("-" * len(head))
    for c in cases:
        for t in bench.threads:
            nat, api, npy, tor = (bench.merged(c, i, t) for i in IMPLS)
            floor = bench.floor(c, t)
            ov = bench.get_overhead(c, t)
            flags = ("b" if nat and nat["foreign_cpu"] > BUSY else "") + \
                ("c" if any(r and r["contended"] for r in (nat, api, npy, tor)) else "") + \
                ("w" if bench.check_failed(c) else "")
            print(f"{c.act:4s} {c.opt:4s} {c.batch:>4} {t:>2} | {_ms(nat):>8} {_pct(nat):>4} {_ms(api):>8} | "
                  f"{_ms(npy):>8} {_ms(tor):>8} | {_x(_ratio(nat, api)):>5} {_x(_ratio(nat, npy)):>6} "
                  f"{_x(_ratio(nat, tor)):>6} | {flops_needed(c.batch) / 1e6:5.0f} "
                  f"{_x(1e3 * floor if floor else None, 3):>6} "
                  f"{_x(nat['median'] / floor if nat and floor else None):>6} | "
                  f"{_x(ov['share_pct'] if ov else None, 1):>5} | {flags}")


def print_overhead(bench: Bench):
    if not bench.overhead:
        return
    print("\nKernel vs non-kernel time of the native step, us per step: step = plain steps; kernels = time inside "
          "the _core calls\nof the same steps run with every call timed (alternating samples; the fastest sample of "
          "each); other = step - kernels.\nBy phase (forward/loss/backward/optimizer): kernel time, and non-kernel "
          "time from the timed run (+ the rest of\ntrain_step), which includes the timers' own cost: timed - step")
    head = (f"{'variant':10s} {'act':4s} {'opt':4s} {'B':>4} {'T':>2} | {'step':>6} {'kernels':>7} {'other':>5} "
            f"{'py%':>5} | {'kernels by phase':>22} | {'non-kernel by phase':>22} {'timed':>6} | flags")
    print(head)
    print("-" * len(head))
    for o in sorted(bench.overhead, key=lambda o: (o["opt"], o["act"], o["batch"], o["threads"], o["variant"])):
        kp = "/".join(f"{1e6 * o['kernel_by_phase_s'][p]:.0f}" for p in PHASES)
        wp = o["wall_by_phase_timed_s"]
        if wp:
            outside = f" {1e6 * wp['outside']:+.0f}" if o["variant"] == "native" else ""
            wp = "/".join(f"{1e6 * (wp[p] - o['kernel_by_phase_s'][p]):.0f}" for p in PHASES) + outside
        print(f"{o['variant']:10s} {o['act']:4s} {o['opt']:4s} {o['batch']:>4} {o['threads']:>2} | "
              f"{1e6 * o['step_s']:6.0f} {1e6 * o['kernel_s']:7.0f} {1e6 * o['nonkernel_s']:5.0f} "
              f"{o['share_pct']:5.1f} | {kp:>22} | {wp or '-':>22} {1e6 * o['timed_step_s']:6.0f} | "
              f"{'b' if (o['foreign_cpu'] or 0) > BUSY else ''}{'c' if o['contended'] else ''}")


def print_breakdown(bench: Bench):
    rows = [b for b in bench.breakdown if b["batch"] == TARGET_BATCH and b["opt"] == "adam"
            and b["variant"] == "native"]
    for act in dict.fromkeys(b["act"] for b in rows):
        for t in dict.fromkeys(b["threads"] for b in rows):
            sel = [b for b in rows if b["act"] == act and b["threads"] == t]
            ov = bench.get_overhead(Case(act, "adam", TARGET_BATCH), t)
            if not sel or not ov:
                continue
            step, pk = ov["step_s"], bench.peak(t)
            print(f"\nWhere time goes: native train_step, {act} adam B={TARGET_BATCH} T={t}, step {fmt_time(step)} "
                  f"(plain steps; kernel times from the timed run);\n  GFLOP/s of the dense kernels: 2BKN forward, "
                  f"4BKN backward, 2BKN backward without grad_x")
            print(f"  {'kernel':16s} {'W shape':15s} {'calls':>5} {'us/step':>8} {'%step':>6} {'GFLOP/s':>8} "
                  f"{'%peak':>5}")
            for b in sel:
                gf = None
                if b["func"] in ("dense_forward", "dense_backward", "dense") and "x" in b["shape"]:
                    k, n = map(int, b["shape"].split()[0].split("x"))
                    per = 4 if b["func"] == "dense_backward" and "no-gx" not in b["shape"] else 2
                    gf = per * TARGET_BATCH * k * n * b["calls_per_step"] / b["seconds_per_step"] / 1e9
                print(f"  {b['func']:16s} {b['shape']:15s} {b['calls_per_step']:5.0f} "
                      f"{1e6 * b['seconds_per_step']:8.0f} {100 * b['seconds_per_step'] / step:5.1f}% "
                      f"{_x(gf, 1):>8} {_x(100 * gf / pk if gf and pk else None, 0):>5}")
            print(f"  {'(outside the kernels)':38s} {1e6 * ov['nonkernel_s']:8.0f} "
                  f"{100 * ov['nonkernel_s'] / step:5.1f}%")
            opt_s = ov["kernel_by_phase_s"]["optimizer"]
            if opt_s:
                print(f"  optimizer kernels: {1e6 * opt_s:.0f} us/step = {100 * opt_s / step:.0f}% of the step, "
                      f"{28 * n_params() / opt_s / 1e9:.1f} GB/s at Adam's 28 B/parameter ({n_params()} parameters)")


def print_allocs(bench: Bench):
    if not bench.allocs:
        return
    cols = PHASES + ("step",)
    print("\nAllocations in one step after warm-up, 1 thread (tracemalloc: NumPy arrays incl. the kernels' results, "
          "not C++ scratch),\nKiB as peak above the start / net change")
    head = f"{'variant':10s} {'act':4s} {'opt':4s} {'B':>4} | " + " ".join(f"{p:>15}" for p in cols)
    print(head)
    print("-" * len(head))
    for a in sorted(bench.allocs, key=lambda a: (a["opt"], a["act"], a["batch"], a["variant"])):
        print(f"{a['variant']:10s} {a['act']:4s} {a['opt']:4s} {a['batch']:>4} | " + " ".join(
            f"{(_kib(a[p]['peak_bytes']) + ' / ' + _kib(a[p]['net_bytes'])) if p in a else '':>15}" for p in cols))


def print_checks(bench: Bench):
    bad = [c for c in bench.checks if not c["ok"]]
    worst = {}
    for c in bench.checks:
        worst[c["impl"]] = max(worst.get(c["impl"], 0.0), max(c["rel_diff"]))
    print(f"\nchecks: {len(bench.checks) - len(bad)}/{len(bench.checks)} (case x implementation) losses over "
          f"{CHECK_STEPS} steps agree with native within {CHECK_RTOL:g}; largest relative difference "
          + ", ".join(f"{k} {v:.1e}" for k, v in worst.items())
          + (f"; {len(bad)} WARNING(s) above" if bad else ""))


def targets(bench: Bench, cases: list) -> list:
    out = []
    sel = [c for c in cases if c.batch == TARGET_BATCH and c.opt == "adam"]
    print(f"\nTargets (float32, 1 thread, batch {TARGET_BATCH}, Adam, native = train_step; ISA {bench.isa})")

    def line(tag, label, value, target, cmp, note="", why_na="not in this run"):
        if value is None:
            status, shown = "n/a", "-"
        else:
            ok = {">=": value >= target, "<=": value <= target, "<": value < target}[cmp]
            status = "PASS" if ok else "MISS"
            shown = f"{value:.1f}%" if tag == "d" else f"{value:.2f}x"
        unit = "%" if tag == "d" else "x"
        print(f"  {status:4s} ({tag}) {label:42s} {shown:>7}  (target {cmp} {target:g}{unit})"
              f"{note if value is not None else '  ' + why_na}")
        out.append(dict(tag=tag, label=label, value=value, target=target, cmp=cmp, status=status))

    if not sel or 1 not in bench.threads:
        print(f"  n/a   (needs batch {TARGET_BATCH}, Adam and 1 thread in this run)")
        return out
    for c in sel:
        nat, api, npy, tor = (bench.merged(c, i, 1) for i in IMPLS)
        floor, ov = bench.floor(c, 1), bench.get_overhead(c, 1)
        vs = lambda p: f"  [{fmt_time(nat['median'])} vs {fmt_time(p['median'])}]" if nat and p else ""
        line("a", f"{c.act}: PyTorch time / native time", _ratio(nat, tor), TARGETS["vs_torch"], ">=", vs(tor),
             why_na="no PyTorch" if bench.torch is None else "not timed")
        line("b", f"{c.act}: native time / arithmetic floor", nat["median"] / floor if nat and floor else None,
             TARGETS["x_floor"], "<=", f"  [{fmt_time(nat['median']) if nat else '-'} vs {fmt_time(floor)}: "
                                       f"{flops_needed(c.batch) / 1e6:.0f} MFLOP at {bench.peak(1) or 0:.0f} GFLOP/s]")
        line("c", f"{c.act}: NumPy reference time / native time", _ratio(nat, npy), TARGETS["vs_numpy"], ">=",
             vs(npy))
        line("d", f"{c.act}: non-kernel share of the native step", ov["share_pct"] if ov else None,
             TARGETS["python_share"], "<",
             f"  [{1e6 * ov['nonkernel_s']:.0f} us of {1e6 * ov['step_s']:.0f} us]" if ov else "")
        ova = bench.get_overhead(c, 1, "native-api")
        if api:
            print(f"  info  {c.act}: native-api (forward/backward calls) {fmt_time(api['median'])}: "
                  f"{_x(_ratio(api, tor))}x PyTorch, {_x(_ratio(api, npy))}x NumPy, "
                  f"{api['median'] / floor if floor else float('nan'):.2f}x floor"
                  + (f", {ova['share_pct']:.1f}% outside the kernels" if ova else ""))
    return out


# --- main -------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help=f"smoke subset ({QUICK}), shorter samples, no retries: < 30 s")
    p.add_argument("--batches", help=f"comma list (default {','.join(map(str, BATCHES))})")
    p.add_argument("--threads", help="comma list, 'all' = simdmlp's default thread count (default 1,all)")
    p.add_argument("--acts", help=f"hidden activations, comma list (default {','.join(ACTS)})")
    p.add_argument("--optimizers", help=f"comma list from {OPTIMIZERS} (default all; sgd runs at batches "
                                        f"{OPT_BATCHES['sgd']} only)")
    p.add_argument("--no-torch", action="store_true", help="do not import or time PyTorch")
    p.add_argument("--isa", help="run simdmlp with this ISA (default: the best one)")
    p.add_argument("--json", help="result file (default bench/results/bench_mlp_<host>_<date>.json)")
    p.add_argument("--passes", type=int, help="passes over the grid (default 2; 1 with --quick)")
    p.add_argument("--min-time", type=float, help="seconds per sample (default 0.05; 0.03 with --quick)")
    p.add_argument("--samples", type=int, help="measured samples (default 7; 5 with --quick)")
    p.add_argument("--warmup-samples", type=int, help="discarded samples (default 2; 1 with --quick)")
    p.add_argument("--retry-budget", type=float, default=45, metavar="SECONDS",
                   help="total time for re-measuring contended multi-thread timings (default 45; 0 with --quick)")
    p.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                   help="total time to spend waiting for other processes to use < 0.2 CPUs, at the start and "
                        "before each case (the machine is shared); default 0 = never wait")
    args = p.parse_args(argv)
    for name, full, quick in (("passes", 2, 1), ("min_time", 0.05, 0.03), ("samples", 7, 5),
                              ("warmup_samples", 2, 1)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    wall0 = time.perf_counter()
    torch = None
    if not args.no_torch:
        try:
            import torch  # noqa: F811  (optional peer)
            torch.set_grad_enabled(True)
        except Exception as exc:
            print(f"PyTorch not available ({type(exc).__name__}: {exc}); timing without it")
            torch = None
    if args.isa:
        simdmlp.use_isa(args.isa)
    gc.collect()
    gc.freeze()  # measure() collects before every timing; keep that cheap with torch loaded

    all_t = simdmlp.get_num_threads()
    threads = sorted({all_t if s.strip() == "all" else int(s) for s in (args.threads or "1,all").split(",")})
    batches = [int(b) for b in args.batches.split(",")] if args.batches else \
        (QUICK["batches"] if args.quick else BATCHES)
    acts = [a.strip() for a in args.acts.split(",")] if args.acts else ACTS
    opts = [o.strip() for o in args.optimizers.split(",")] if args.optimizers else \
        (QUICK["optimizers"] if args.quick else OPTIMIZERS)
    for o in opts:
        if o not in OPTIMIZERS:
            raise SystemExit(f"unknown optimizer {o!r}; choose from {OPTIMIZERS}")
    for a in acts:
        if a not in simdmlp.ELEMENTWISE:
            raise SystemExit(f"unknown activation {a!r}; choose from {simdmlp.ELEMENTWISE}")
    if not hasattr(nn.Sequential, "train_step"):
        raise SystemExit("simdmlp.nn.Sequential has no train_step (older simdmlp?): nothing to time as 'native'")
    cases = make_cases(acts, batches, opts)
    if not cases:
        raise SystemExit(f"no case in the grid (sgd runs only at batches {OPT_BATCHES['sgd']})")

    facts = machine_facts(torch)
    bench = Bench(args, torch, threads)
    print(f"simdmlp {facts['simdmlp']['version']} isa={bench.isa} (available {simdmlp.available_isas()}), "
          f"threads {threads}, numpy {np.__version__}, torch {facts['torch']}, "
          f"threadpoolctl {'yes' if threadpoolctl else 'no (NumPy keeps its default BLAS threads)'}")
    print(f"CPU {facts['cpu_model']}, {facts['affinity_cpus']} CPUs, flags {' '.join(facts['cpu_flags'])}")
    if facts["simdmlp_build"]["older_than_sources"]:
        print(f"WARNING: {facts['simdmlp_build']['core_module']} is older than the C++ sources: "
              f"this run times the last build, not the working tree")
    print(f"MLP {'-'.join(map(str, SIZES))} ({n_params()} parameters), {len(cases)} cases x threads {threads} x "
          f"{bench.impls()}, {args.passes} pass(es){' (quick)' if args.quick else ''}\n", flush=True)

    for t in threads:  # start the thread pools (their creation is not part of any timing)
        bench.set_threads(t)
        a = np.ones((256, 256), np.float32)
        for _ in range(10):
            simdmlp.matmul(a, a)
            if torch is not None:
                torch.from_numpy(a) @ torch.from_numpy(a)
    bench.wait_if_busy("the start", max_wait=600.0, window=5.0)
    run_load = CpuLoad()
    print("peak FMA (start) ...", flush=True)
    bench.measure_peaks("start")
    print("checks ...", flush=True)
    for c in cases:
        bench.check(c)
    for p in range(args.passes):
        for i, c in enumerate(cases):
            bench.run_case(c, i, p)
    print("Python share and allocations ...", flush=True)
    kt = KernelTimers()
    for c in cases:
        for t in threads:
            for variant in ("native", "native-api"):
                bench.run_python_share(c, t, variant, kt)
        for variant in ("native", "native-api"):
            bench.allocations(c, variant)
    print("peak FMA (end) ...", flush=True)
    bench.measure_peaks("end")
    bench.set_threads(all_t)

    print_peaks(bench)
    print_main(bench, cases)
    print_overhead(bench)
    print_breakdown(bench)
    print_allocs(bench)
    print_checks(bench)
    tg = targets(bench, cases)
    if bench.errors:
        print(f"{len(bench.errors)} error(s):", *bench.errors, sep="\n  ")
    wall = time.perf_counter() - wall0
    foreign = run_load.foreign()
    print(f"\nwall time {wall:.0f} s ({bench.waited:.0f} s of it waiting for a quiet machine); other processes "
          f"used {'?' if foreign is None else f'{foreign:.2f}'} CPUs on average during the run")

    tinfo = None
    if torch is not None:
        tinfo = dict(config=torch.__config__.show(), parallel=torch.__config__.parallel_info(),
                     cpu_capability=torch.backends.cpu.get_cpu_capability(),
                     adam_defaults=torch.optim.Adam([torch.zeros(1)]).defaults)
    summary = []
    for c in cases:
        for t in threads:
            row = dict(act=c.act, opt=c.opt, batch=c.batch, threads=t, flops_needed=flops_needed(c.batch),
                       flops_with_input_grad=flops_with_input_grad(c.batch), peak_gflop_s=bench.peak(t),
                       floor_s=bench.floor(c, t), **{impl: bench.merged(c, impl, t) for impl in IMPLS})
            ov = bench.get_overhead(c, t)
            row["python_share_pct"] = ov["share_pct"] if ov else None
            summary.append(row)
    path = Path(args.json) if args.json else HERE / "results" / (
        f"bench_mlp_{socket.gethostname()}_{datetime.datetime.now():%Y%m%d-%H%M%S}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = dict(machine=dict(facts, numpy_blas=threadpoolctl.threadpool_info() if threadpoolctl else None,
                            torch_build=tinfo),
               config=dict(argv=sys.argv[1:], quick=args.quick, isa=bench.isa, threads=threads, sizes=SIZES,
                           acts=acts, batches=batches, optimizers=opts, opt_batches=OPT_BATCHES, hyper=HYPER,
                           n_batches=N_BATCHES, passes=args.passes, timing=bench.timing, slow_step=SLOW_STEP,
                           settle=SETTLE, check_steps=CHECK_STEPS, check_rtol=CHECK_RTOL, seed=SEED,
                           numpy_threads="threadpoolctl" if threadpoolctl else "NumPy default",
                           torch=torch is not None, stmts=STMTS, targets=TARGETS),
               peaks=bench.peaks, checks=bench.checks, records=bench.records, summary=summary,
               python_share=bench.overhead, kernel_breakdown=bench.breakdown, allocations=bench.allocs,
               targets=tg, errors=bench.errors, wall_time_s=wall, foreign_cpu=foreign, waits=bench.waits,
               waited_s=bench.waited)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str))
    tmp.replace(path)
    print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
