"""Full float32 accuracy sweep of every elementwise activation with the native sweep
(simdmlp._core._ulp_sweep: C++, multi-threaded, double-precision references in
cpp/src/sweep.cpp, every ISA checked against one reference pass).

    python bench/sweep_native.py                 # all 2^32 patterns, every function
    python bench/sweep_native.py --stride 4096   # every 4096th pattern (seconds)

Bounds (SPEC): forward <= 4 ulp of the correctly rounded value; backward (grad_output = 1)
|got - d| <= 8 ulp(d) + 2^-22, reported as a ratio that must be <= 1. Writes a Markdown and
a JSON table; exits 1 if any bound is exceeded or NaN/inf disagree.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import struct
import sys
import time

import simdmlp
from simdmlp import _core


# Non-default parameters worth a sweep of their own: the tanh form of GELU, and swish with a
# beta other than 1 (beta = 1 runs silu's code).
VARIANTS = {"gelu_tanh": ("gelu", [1.0, 0.0]), "swish_beta_1.7": ("swish", [1.7, 0.0])}


def _as_float(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stride", type=int, default=1, help="test every STRIDE-th pattern (1 = all 2^32)")
    ap.add_argument("--functions", default=None, help="comma-separated names (default: all elementwise)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--direction", choices=("both", "forward", "backward"), default="both",
                    help="sweep only one direction (e.g. after a change to the forward kernels only)")
    ap.add_argument("--markdown", default="bench/results/ulp_sweep_native_full.md")
    ap.add_argument("--json", default="bench/results/ulp_sweep_native_full.json")
    args = ap.parse_args(argv)
    if args.threads:
        simdmlp.set_num_threads(args.threads)
    names = args.functions.split(",") if args.functions else list(simdmlp.ELEMENTWISE) + list(VARIANTS)
    isas = simdmlp.available_isas()
    defaults = {i["name"]: i["params"] for i in _core._ACTIVATION_INFO}
    rows, failed, t_all = [], False, time.time()
    for label in names:
        name, p = VARIANTS.get(label, (label, None))
        if p is None:
            p = [0.0 if isinstance(v, str) else float(v) for v in defaults[name].values()] + [0.0, 0.0]
        for backward in {"both": (False, True), "forward": (False,), "backward": (True,)}[args.direction]:
            t0 = time.time()
            bound = 1.0 if backward else 4.0
            res = _core._ulp_sweep(name, backward, p[0], p[1], 0, 1 << 32, args.stride, bound, isas)
            secs = time.time() - t0
            for isa, r in res.items():
                bad = r["over"] + r["nan_mismatch"]
                failed |= bad > 0
                rows.append({
                    "function": label, "direction": "backward" if backward else "forward", "isa": isa,
                    "max_err": r["max_err"], "worst_input": _as_float(r["worst_bits"]),
                    "worst_bits": f"0x{r['worst_bits']:08x}", "tested": r["tested"], "over": r["over"],
                    "nan_mismatch": r["nan_mismatch"], "seconds_all_isas": round(secs, 1)})
            print(f"{label:14s} {'bwd' if backward else 'fwd'} " + "  ".join(
                f"{isa} {r['max_err']:.3f}" for isa, r in res.items()) + f"  ({secs:.0f} s)", flush=True)
    elapsed = time.time() - t_all
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": "python bench/sweep_native.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "stride": args.stride, "elapsed_s": round(elapsed, 1), "info": simdmlp.info(),
            "machine": platform.platform(), "pass": not failed}
    with open(args.json, "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    with open(args.markdown, "w") as f:
        f.write(f"# Native float32 ULP sweep ({'all 2^32 patterns' if args.stride == 1 else f'every {args.stride}th pattern'})\n\n")
        f.write(f"- {meta['date']}, `{meta['command']}`, {elapsed:.0f} s wall on {simdmlp.get_num_threads()} threads\n")
        f.write(f"- simdmlp {meta['info']['version']}, {meta['info']['compiler']}, ISAs {', '.join(isas)}\n")
        f.write("- forward: max error in ulp of the correctly rounded result (bound 4); backward: max of "
                "|got - d| / (8 ulp(d) + 2^-22) with grad_output = 1 (bound 1). Default parameters.\n")
        f.write(f"- result: **{'PASS' if not failed else 'FAIL'}**\n\n")
        f.write("| function | direction | isa | max error | worst input | over bound | NaN/inf mismatch |\n|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['function']} | {r['direction']} | {r['isa']} | {r['max_err']:.3f} | "
                    f"{r['worst_input']:.9g} ({r['worst_bits']}) | {r['over']} | {r['nan_mismatch']} |\n")
    print(f"{'PASS' if not failed else 'FAIL'} in {elapsed:.0f} s -> {args.markdown}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
