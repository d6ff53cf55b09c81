"""The soak: play generated scenarios (:mod:`bot.sim.generate`) through the real app
and check the invariants (:mod:`bot.sim.invariants`).

Each seed plays in a child process (``python -m bot.sim.soak --seed S --dir D``) under
a real-time limit, so a run that never ends is a failure with a seed rather than a hung
soak. The child writes into ``D`` the scenario (``scenario.json``), the transcript, the
database, the log and ``result.json``; a failing seed's directory is kept to be looked
at, and :func:`replay_commands` says how to play it again.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULT = "result.json"
SCENARIO = "scenario.json"
TIMEOUT = 600.0                 # real seconds a seed may take before it counts as hung


@dataclass(frozen=True)
class Shape:
    """What a seed would otherwise choose, fixed (None: the seed decides)."""

    days: int | None = None
    channels: int | None = None

    def options(self) -> list[str]:
        return [*(["--days", str(self.days)] if self.days else []),
                *(["--channels", str(self.channels)] if self.channels else [])]


@dataclass
class SeedResult:
    seed: int
    directory: str
    violations: list[str] = field(default_factory=list)
    error: str | None = None            # the run did not end, or ended in an exception
    seconds: float = 0.0                # real time
    scenario_seconds: float = 0.0       # virtual time played
    posts: int = 0
    messages: int = 0
    checked: dict[str, int] = field(default_factory=dict)   # what the invariants required

    @property
    def ok(self) -> bool:
        return self.error is None and not self.violations

    def problems(self) -> list[str]:
        return ([self.error] if self.error else []) + self.violations


class _Errors(logging.Handler):
    """Collects what is logged at ERROR or above."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.messages.append(text)


def play_seed(seed: int, directory: Path, shape: Shape = Shape()) -> SeedResult:
    """Generate, play and check one seed in this process (see :func:`run_seed` for the
    isolated run)."""
    from bot.sim.generate import generate
    from bot.sim.invariants import Run, check_run
    from bot.sim.player import play_scenario
    from bot.sim.scenario import parse_scenario
    from bot.sim.scenario_events import Message, Post
    from config.settings import Settings

    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(generate(seed, days=shape.days, channels=shape.channels),
                      ensure_ascii=False, indent=1)
    (directory / SCENARIO).write_text(text, encoding="utf-8")
    scenario = parse_scenario(text, str(directory / SCENARIO))
    result = SeedResult(seed, str(directory),
                        scenario_seconds=(scenario.end - scenario.start).total_seconds(),
                        posts=sum(isinstance(e.action, Post) for e in scenario.events),
                        messages=sum(isinstance(e.action, Message) for e in scenario.events))
    errors = _Errors()
    root = logging.getLogger()
    root.addHandler(errors)
    started = time.perf_counter()
    try:
        report = play_scenario(scenario, Settings(db_path=directory / "tgmon.db"),
                               transcript=directory / "transcript.jsonl")
    except Exception as e:
        result.error = f"the run failed: {type(e).__name__}: {e}"
        return result
    finally:
        result.seconds = time.perf_counter() - started
        root.removeHandler(errors)
    run = Run(scenario, report.settings, report.world, report.settings.db_path, errors.messages,
              stopped=report.ended_at, stopped_role=report.ended.role if report.ended else None)
    result.violations = [str(v) for v in check_run(run)]
    result.checked = dict(run.tally)
    return result


def run_seed(seed: int, directory: Path, shape: Shape = Shape(), *,
             timeout: float = TIMEOUT, keep: bool = False) -> SeedResult:
    """Play one seed in a child process, at most ``timeout`` real seconds; the directory
    is removed afterwards if the seed passed (unless ``keep``)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    command = [sys.executable, "-m", "bot.sim.soak", "--seed", str(seed), "--dir",
               str(directory), *shape.options()]
    started = time.perf_counter()
    with (directory / "run.log").open("w", encoding="utf-8") as log:
        try:
            subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=timeout,
                           check=False)
        except subprocess.TimeoutExpired:
            return SeedResult(seed, str(directory), seconds=time.perf_counter() - started,
                              error=f"the run did not end within {timeout:.0f} real seconds")
    try:
        data = json.loads((directory / RESULT).read_text(encoding="utf-8"))
        result = SeedResult(**data)
    except (OSError, ValueError, TypeError) as e:
        tail = (directory / "run.log").read_text(encoding="utf-8", errors="replace")[-400:]
        result = SeedResult(seed, str(directory), seconds=time.perf_counter() - started,
                            error=f"the run died without a result ({type(e).__name__}): {tail}")
    if result.ok and not keep:
        shutil.rmtree(directory, ignore_errors=True)
    return result


def replay_commands(result: SeedResult, shape: Shape = Shape()) -> list[str]:
    """How to play a seed again: through the soak (with the checks), or as a scenario."""
    options = " ".join(["--seed", str(result.seed), *shape.options()])
    d = Path(result.directory)
    return [f"python -m bench soak {options}",
            f"tgmon run --simulate {d / SCENARIO} --transcript {d / 'replay.jsonl'} "
            f"--db {d / 'replay.db'}"]


def main(argv: Sequence[str] | None = None) -> int:
    """The child: play one seed, write ``result.json``."""
    parser = argparse.ArgumentParser(prog="python -m bot.sim.soak")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--days", type=int)
    parser.add_argument("--channels", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("telethon", "tgmon.telethon", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    result = play_seed(args.seed, args.dir, Shape(args.days, args.channels))
    data: dict[str, Any] = asdict(result)
    (args.dir / RESULT).write_text(json.dumps(data, ensure_ascii=False, indent=1),
                                   encoding="utf-8")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
