"""Run every ``bench/bench_*.py`` (or those named) and print a table of figures.

Each module defines ``run(quick: bool) -> list[Figure]``. ``--quick`` shrinks the
workloads for a smoke run; the figures in the README come from a full run. A module
with options of its own defines ``add_arguments(parser)``, and its ``run`` also gets
the parsed arguments (``run(quick, args)``); one with ``NAMED_ONLY = True`` (the soak)
runs only when named.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import pkgutil
import sys
from pathlib import Path
from typing import Any

from bench.common import Figure


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.3f}" if abs(x) < 100 else f"{x:,.0f}"


def _module(name: str) -> Any:
    return importlib.import_module(f"bench.bench_{name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small workloads (smoke test)")
    here = Path(__file__).parent
    found = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(here)])
                   if m.name.startswith("bench_"))
    own = [n for n in found if hasattr(_module(n), "add_arguments")]
    for name in own:
        _module(name).add_arguments(parser)
    args = parser.parse_args(argv)
    names = args.names or [n for n in found if not getattr(_module(n), "NAMED_ONLY", False)]
    unknown = [n for n in names if n not in found]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; known: {', '.join(found)}")
    figures: list[Figure] = []
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        module = _module(name)
        figures.extend(module.run(args.quick, args) if name in own else module.run(args.quick))
        # The next benchmark starts without this one's garbage: a full collection of a big
        # heap inside a timed section shows as a latency no running tgmon has.
        gc.collect()
    print("| figure | value | baseline | ratio | target | ok |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    for f in figures:
        print(f"| {f.name} | {_fmt(f.value)} {f.unit} | {_fmt(f.baseline)} | {_fmt(f.ratio)} "
              f"| {f.target} | {'yes' if f.ok else 'NO'}{' — ' + f.note if f.note else ''} |")
    return 0 if all(f.ok for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
