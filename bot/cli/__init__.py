"""The ``tgmon`` command line.

Every module in this package that defines ``add_parser(subparsers, common)`` is a
command; ``ORDER`` sorts them in ``tgmon --help``. Command modules import heavy
libraries inside their functions, so ``tgmon --help`` stays fast and nothing runs
at import time.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli._signals import Terminated
from config.errors import TgmonError
from config.settings import load_settings


def _command_modules() -> list:
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "add_parser"):
            modules.append(module)
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, metavar="PATH",
                        help="the database file (default: $TGMON_DB or data/tgmon.db)")
    parser = argparse.ArgumentParser(
        prog="tgmon",
        description="Telegram channel monitoring: capture, alerts, digests, exports.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules():
        module.add_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(overrides={"db_path": getattr(args, "db", None)})
        return int(args.func(args, settings) or 0)
    except TgmonError as e:
        print(f"tgmon: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tgmon: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("tgmon: terminated", file=sys.stderr)
        return 128 + 15
    except BrokenPipeError:
        # `tgmon export | head`: the reader went away; not an error of ours.
        sys.stderr.close()
        return 0
