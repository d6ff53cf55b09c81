"""``tgmon network``: the forward network of the log for Gephi (GEXF 1.3 or CSV)."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.errors import TgmonError
from config.settings import Settings

ORDER = 52
FORMATS = ("gexf", "csv")


class NetworkError(TgmonError):
    pass


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "network", parents=[common],
        help="who forwards, links and mentions whom: a graph for Gephi",
        description="The network of channels: nodes are the channels of the log and the "
                    "origins their posts forward, link (t.me) or @mention; directed edges "
                    "go from the channel that forwards, links or mentions to the one it "
                    "points at, one per kind, with counts and first and last dates. "
                    "See docs/network.md.")
    p.add_argument("--format", default="gexf", metavar="FORMAT",
                   help="gexf (default; opens in Gephi) or csv (two files: nodes and edges)")
    p.add_argument("--output", "-o", type=Path, metavar="FILE",
                   help="write to FILE (csv: FILE's stem + .nodes.csv and .edges.csv); "
                        "default: standard output (gexf only)")
    p.add_argument("--channel", action="append", default=[], metavar="NAME_OR_ID",
                   help="only posts of this channel (username or id); repeat for several")
    p.add_argument("--since", metavar="WHEN", help="posts from this date or timestamp (UTC)")
    p.add_argument("--until", metavar="WHEN", help="posts up to and including this date")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli._signals import run_command
    return run_command(_run(args, settings))


def csv_paths(output: Path) -> tuple[Path, Path]:
    stem = output.with_suffix("") if output.suffix.lower() == ".csv" else output
    return (stem.with_name(stem.name + ".nodes.csv"), stem.with_name(stem.name + ".edges.csv"))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli._channels import channel_ids
    from config.dates import parse_when
    from storage.db import open_database
    from storage.network import NetworkFilter, build_network, used_nodes

    fmt = args.format.strip().lower()
    if fmt not in FORMATS:
        raise NetworkError(f"unknown network format {args.format!r}: use gexf or csv")
    if fmt == "csv" and args.output is None:
        raise NetworkError("--format csv writes two files (nodes and edges): give --output FILE")
    if args.output is not None and not args.output.parent.is_dir():
        raise NetworkError(f"--output {args.output}: directory {args.output.parent} does not "
                           "exist")
    since = parse_when(args.since, "--since") if args.since else None
    before = parse_when(args.until, "--until", end=True) if args.until else None
    if since is not None and before is not None and since >= before:
        raise NetworkError(f"--since {args.since} is after --until {args.until}")
    db = await open_database(settings.db_path, read_only=True)
    try:
        flt = NetworkFilter(await channel_ids(db, args.channel), since, before)
        net = await build_network(db, flt)
    finally:
        await db.close()
    nodes = used_nodes(net, flt)
    edges = sorted(net.edges.values(), key=lambda e: (e.source, e.target, e.kind))
    if fmt == "gexf":
        _write_gexf(nodes, edges, args.output)
    else:
        _write_csv(nodes, edges, args.output)
    print(f"tgmon: {len(nodes)} channels, {len(edges)} edges", file=sys.stderr)
    return 0


def _write_gexf(nodes: list[Any], edges: list[Any], output: Path | None) -> None:
    from storage.network import gexf_lines

    created = datetime.now(UTC).isoformat()
    lines = gexf_lines(nodes, edges, created)
    if output is None:
        out = sys.stdout.buffer
        for line in lines:
            out.write(line.encode())
        out.flush()
        return
    tmp = output.with_name(f".{output.name}.part")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            f.writelines(lines)
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)


def _write_csv(nodes: list[Any], edges: list[Any], output: Path) -> None:
    from storage.network import EDGE_COLUMNS, NODE_COLUMNS, edge_row, node_row

    for path, header, rows in ((csv_paths(output)[0], NODE_COLUMNS, map(node_row, nodes)),
                               (csv_paths(output)[1], EDGE_COLUMNS, map(edge_row, edges))):
        tmp = path.with_name(f".{path.name}.part")
        try:
            with tmp.open("w", encoding="utf-8", newline="") as f:
                w = csv.writer(f)
                w.writerow(header)
                w.writerows(rows)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
