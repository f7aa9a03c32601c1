"""Command line: ``python -m simdmlp info``."""
from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simdmlp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print version, compiler, OpenMP, ISAs and threads")
    args = parser.parse_args(argv)
    if args.command == "info":
        import simdmlp

        print(json.dumps(simdmlp.info(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
