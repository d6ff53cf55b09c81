"""The media archive: download rate through the simulated Telegram next to a bare loop of
``upload.getFile`` on the same client for the same file; peak memory while a 1 GB file
downloads (streamed to disk); push-to-row latency of new posts while ten large files
download.

Rates and latencies are real time (``perf_counter``) with the simulation answering at
once. Memory is measured in a child process (VmHWM, its own peak resident set), so
nothing else the benchmark did counts against it.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Figure, peak_rss_mb

START = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
MB = 1 << 20
RTT = 0.05          # seconds from a request to its answer, as from a desk to Telegram
TEXT = "Колонна техники у Тёткино, видео очевидцев. #новости "


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")                 # nothing measured (see the figure's note)
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _world_with_video(size: int) -> tuple[Any, Any]:
    from bot.sim.model import ContentSpec, MediaSpec
    from bot.sim.world import World

    world = World()
    channel = world.add_channel("legionoffreedom", "Легион")
    post = world.post(channel, "Видео", push=False, media=MediaSpec(
        "video", file_name="raid.mp4", content=ContentSpec(bytes=size, seed=12)))
    return world, post


async def _located(world: Any, post: Any) -> tuple[Any, Any]:
    """A connected user client and the video's location, read as the watcher reads it."""
    from bot.telegram.records import media_from_tl

    client = world.make_client("user")
    await client.connect()
    peer = await client.get_input_entity("legionoffreedom")
    message = await client.get_messages(peer, ids=post.id)
    media = media_from_tl(message.media)
    assert media is not None and media.file is not None
    return client, media.file


# ---- download rate ----

def _rate(quick: bool, tmp: Path) -> Figure:
    from telethon.tl import functions

    from bot.media.fetch import fetch_file
    from bot.sim.vclock import run_simulated
    from bot.telegram.files import PART, PartFetcher, input_location
    from storage.mediastore import MediaStore

    size = (32 if quick else 128) * MB
    world, post = _world_with_video(size)
    Timing = tuple[float, float]                 # (wall seconds, CPU seconds of the process)

    async def bare_loop(client: Any, ref: Any) -> Timing:
        wall, cpu = time.perf_counter(), time.process_time()
        offset = 0
        while True:
            got = await client(functions.upload.GetFileRequest(input_location(ref), offset,
                                                               PART))
            offset += len(got.bytes)
            if len(got.bytes) < PART:
                break
        assert offset == size
        return time.perf_counter() - wall, time.process_time() - cpu

    async def ours(client: Any, ref: Any, round_: int) -> Timing:
        store = MediaStore(tmp / f"rate-{round_}")
        store.ensure()
        wall, cpu = time.perf_counter(), time.process_time()
        fetched = await fetch_file(store, 1, ".mp4", PartFetcher(client, ref), part=PART)
        timing = time.perf_counter() - wall, time.process_time() - cpu
        assert fetched.size == size
        store.path(fetched.path).unlink()
        return timing

    async def main() -> list[tuple[Timing, Timing]]:
        client, ref = await _located(world, post)
        pairs = []
        try:
            # Interleaved, each first in turn: the machine is shared and its load moves.
            for round_ in range(2 if quick else 6):
                if round_ % 2:
                    theirs = await bare_loop(client, ref)
                    mine = await ours(client, ref, round_)
                else:
                    mine = await ours(client, ref, round_)
                    theirs = await bare_loop(client, ref)
                pairs.append((mine, theirs))
        finally:
            await client.disconnect()
        return pairs

    pairs = run_simulated(main, start=START, livelock_limit=None)
    ratios = [theirs[0] / mine[0] for mine, theirs in pairs]      # rate ratio of each pair
    cpu = statistics.median(theirs[1] / mine[1] for mine, theirs in pairs)
    rate = statistics.median(size / mine[0] for mine, _ in pairs)
    baseline = statistics.median(size / theirs[0] for _, theirs in pairs)
    ratio = statistics.median(ratios)
    return Figure(f"download of a {size // MB} MB file through the simulation", rate / MB,
                  "MB/s", "ratio >= 0.8", ratio >= 0.8, baseline=baseline / MB,
                  note="baseline: a bare loop of upload.getFile on the same client for the "
                       "same file (bytes dropped); ours: parts hashed and written to the "
                       "partial file, synced and renamed into the store; medians of "
                       f"{len(pairs)} interleaved pairs; ratio of each pair "
                       f"{', '.join(f'{r:.2f}' for r in ratios)} (median {ratio:.2f}); "
                       f"CPU time, bare / ours: {cpu:.2f}")


# ---- peak memory of a 1 GB download, in a child process ----

def _child(tmp: str, size: int) -> None:
    """Run in the child: download ``size`` bytes, print the peak resident set before and
    after, in MB."""
    from bot.media.fetch import fetch_file
    from bot.sim.vclock import run_simulated
    from bot.telegram.files import PART, PartFetcher
    from storage.mediastore import MediaStore

    world, post = _world_with_video(size)
    out: dict[str, float] = {}

    async def main() -> None:
        client, ref = await _located(world, post)
        store = MediaStore(Path(tmp) / "big")
        store.ensure()
        out["before"] = peak_rss_mb()
        started = time.perf_counter()
        fetched = await fetch_file(store, 1, ".mp4", PartFetcher(client, ref), part=PART)
        out["seconds"] = time.perf_counter() - started
        assert fetched.size == size
        store.path(fetched.path).unlink()
        await client.disconnect()

    run_simulated(main, start=START, livelock_limit=None)
    out["peak"] = peak_rss_mb()
    print(json.dumps(out))


def _memory(quick: bool, tmp: Path) -> Figure:
    size = (128 if quick else 1024) * MB
    done = subprocess.run(
        [sys.executable, "-c", f"from bench.bench_media import _child; _child({str(tmp)!r}, "
                               f"{size})"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return Figure(f"peak memory while a {size // MB:,} MB file downloads", out["peak"], "MB",
                  "< 100 MB", out["peak"] < 100, baseline=out["before"],
                  note="peak resident memory (VmHWM) of a child process; baseline: its "
                       "peak before the download (Python, Telethon, the simulation, a "
                       "connected client); "
                       f"{size / MB / out['seconds']:,.0f} MB/s")


# ---- push-to-row latency while large files download ----

def _latency(quick: bool, tmp: Path) -> list[Figure]:
    from bot.app import App
    from bot.media.downloader import MediaDownloader
    from bot.sim.model import ContentSpec, MediaSpec
    from bot.sim.world import World
    from bot.watcher.component import Watcher
    from config.settings import Settings
    from storage.capture import Batch
    from storage.watchlist import find_entry

    n = 100 if quick else 400
    files, size = 10, (48 if quick else 200) * MB

    def measure(downloads: bool, round_: int) -> tuple[list[float], list[int]]:
        """Push-to-row latencies (ms) of posts pushed while every download is under way
        (or with none), and how many files were downloading at each push."""
        world = World()
        world.latency = RTT
        channel = world.add_channel("legionoffreedom", "Легион")
        pushed: dict[int, float] = {}
        stored: dict[int, float] = {}
        in_flight: list[int] = []

        class TimedWatcher(Watcher):
            async def _store_live(self, account: str, batch: Batch) -> None:
                await super()._store_live(account, batch)
                done = time.perf_counter()
                for p in batch.posts:
                    stored.setdefault(p.message_id, done)

        settings = Settings(db_path=tmp / f"latency-{downloads}-{round_}.db",
                            session_dir=tmp / f"sessions-{downloads}-{round_}",
                            watch=("legionoffreedom",), api_id=1, api_hash="0" * 32,
                            media=("photo", "video", "document"), media_max_size=size * 2)
        downloader = MediaDownloader(workers=files + 1)     # all ten at once

        async def main() -> None:
            app = App(settings, make_client=world.client_factory(),
                      components=lambda: [TimedWatcher(), downloader])
            await app.start()
            assert app.rt is not None
            while not ((e := await find_entry(app.rt.db, "legionoffreedom")) and e.resolved):
                await asyncio.sleep(0.1)
            await asyncio.sleep(2)                   # the new channel's catch-up is done
            if downloads:
                for i in range(files):
                    world.post(channel, f"Видео {i}", media=MediaSpec(
                        "video", content=ContentSpec(bytes=size, seed=100 + i)))
                while downloader.downloading < files and downloader.fetched == 0:
                    await asyncio.sleep(0.001)
            for i in range(n):
                if downloads and not downloader.downloading:
                    break                            # only pushes while files download
                in_flight.append(downloader.downloading)
                before = time.perf_counter()
                p = world.post(channel, f"{TEXT}{i}")
                pushed[p.id] = before
                while p.id not in stored:
                    await asyncio.sleep(0.0005)
                await asyncio.sleep(0.01)
            await app.stop()

        # Real time, not the simulation's virtual clock: that clock stands still while
        # any disk write is in flight, which ten downloads keep it from ever being.
        asyncio.run(main())
        return [(stored[m] - t) * 1e3 for m, t in pushed.items()], in_flight

    # Interleaved rounds (the machine is shared); judged on the worst round with downloads.
    quiet: list[list[float]] = []
    busy: list[list[float]] = []
    flights: list[list[int]] = []
    for round_ in range(1 if quick else 2):
        quiet.append(measure(False, round_)[0])
        latencies, in_flight = measure(True, round_)
        busy.append(latencies)
        flights.append(in_flight)
    p99s = [_quantile(b, 0.99) for b in busy]
    base99s = [_quantile(q, 0.99) for q in quiet]
    worst = max(range(len(busy)), key=lambda i: p99s[i])
    during = ", ".join(f"{len(f)} pushes with {min(f)}-{max(f)} files downloading "
                       f"(median {statistics.median(f):.0f})" for f in flights if f)
    return [
        Figure("pushed post to its row while 10 large files download, p50",
               _quantile(busy[worst], 0.5), "ms", "-", True,
               baseline=_quantile(quiet[worst], 0.5),
               note="pushes 10 ms apart, real time; baseline: the same pushes with no "
                    "download"),
        Figure("pushed post to its row while 10 large files download, p99", p99s[worst],
               "ms", "< 100 ms", p99s[worst] < 100, baseline=base99s[worst],
               note=f"10 files of {size // MB} MB at once (11 workers); rounds: {during}; "
                    f"p99 of each round {', '.join(f'{p:.1f}' for p in p99s)} ms (no "
                    f"download: {', '.join(f'{p:.1f}' for p in base99s)})"),
    ]


def run(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        return [_rate(quick, root), _memory(quick, root), *_latency(quick, root)]
