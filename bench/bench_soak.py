"""The soak of random days: generated scenarios played through the real app against the
simulated Telegram, each checked against the invariants of :mod:`bot.sim.invariants`.

``python -m bench soak --seeds N`` plays seeds 1..N (``--first`` moves the start);
``--seed S`` replays one (repeatable). Each seed runs in a child process under a
real-time limit (``--timeout``). A failing seed is printed with what broke and the
commands that replay it; its scenario, transcript, database and log stay in
``--keep-dir`` (default ``data/soak``).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import Figure

NAMED_ONLY = True              # minutes of work: not part of a plain `python -m bench`
DEFAULT_SEEDS = 20
QUICK_SEEDS = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("soak")
    g.add_argument("--seeds", type=int, help=f"soak: play seeds 1..N (default {DEFAULT_SEEDS})")
    g.add_argument("--first", type=int, default=1, help="soak: the first seed of --seeds")
    g.add_argument("--seed", type=int, action="append", help="soak: play this seed (repeatable)")
    g.add_argument("--days", type=int, help="soak: days of every scenario (1-3)")
    g.add_argument("--channels", type=int, help="soak: channels of every scenario (1-8)")
    g.add_argument("--jobs", type=int, default=1, help="soak: seeds played at once")
    g.add_argument("--timeout", type=float, help="soak: real seconds a seed may take")
    g.add_argument("--keep-dir", type=Path, default=Path("data/soak"),
                   help="soak: where failing seeds' files stay")


def run(quick: bool, args: argparse.Namespace | None = None) -> list[Figure]:
    from bot.sim.soak import TIMEOUT, Shape, replay_commands, run_seed

    args = args or argparse.Namespace(seeds=None, first=1, seed=None, days=None, channels=None,
                                      jobs=1, timeout=None, keep_dir=Path("data/soak"))
    count = args.seeds or (QUICK_SEEDS if quick else DEFAULT_SEEDS)
    seeds = args.seed or list(range(args.first, args.first + count))
    shape = Shape(args.days or (1 if quick else None), args.channels)
    timeout = args.timeout or TIMEOUT
    failed = []
    speeds = []
    simulated = 0.0
    checked: Counter[str] = Counter()
    began = time.monotonic()
    cpu_before = _children_cpu()

    def one(seed: int):
        return run_seed(seed, args.keep_dir / f"seed-{seed}", shape, timeout=timeout)

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for result in pool.map(one, seeds):
            checked.update(result.checked)
            simulated += result.scenario_seconds
            if result.ok:
                speeds.append(result.scenario_seconds / result.seconds)
                print(f"seed {result.seed}: ok ({result.seconds:.0f} s, {result.posts} posts, "
                      f"{result.messages} messages)", file=sys.stderr, flush=True)
                continue
            failed.append(result)
            print(f"seed {result.seed}: FAILED", file=sys.stderr)
            for problem in result.problems()[:20]:
                print(f"  {problem}", file=sys.stderr)
            if len(result.problems()) > 20:
                print(f"  ... and {len(result.problems()) - 20} more", file=sys.stderr)
            for command in replay_commands(result, shape):
                print(f"  replay: {command}", file=sys.stderr)
            sys.stderr.flush()
    passed = len(seeds) - len(failed)
    wall, cpu = time.monotonic() - began, _children_cpu() - cpu_before
    print(f"played {len(seeds)} seeds, {simulated / 86400:,.1f} scenario days, in "
          f"{wall / 60:,.1f} min wall time and {cpu / 60:,.1f} min CPU (the seeds' processes)",
          file=sys.stderr)
    print("checked over all seeds: " + ", ".join(f"{n:,} {what}" for what, n in
                                                 sorted(checked.items())), file=sys.stderr)
    figures = [Figure("soak: seeds whose run ended with every invariant held", passed, "seeds",
                      "all", not failed, baseline=len(seeds),
                      note="failing: " + ", ".join(str(r.seed) for r in failed) if failed else "")]
    if speeds:
        speed = statistics.median(speeds)
        figures.append(Figure("soak: scenario seconds per real second (median of passing seeds)",
                              speed, "x", ">= 1440 (a day in under a minute)", speed >= 1440,
                              baseline=1.0, note="baseline: real time"))
    return figures


def _children_cpu() -> float:
    """CPU seconds (user and system) of the finished child processes (the seeds)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
