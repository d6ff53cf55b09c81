"""Playing a scenario: the real application (:class:`bot.app.App`) against the simulated
Telegram, on virtual time, from the scenario's start to its end.

The player starts the app at ``start``, applies each event at its time, stops the app
for an ``app_down`` fault and starts a new one (same settings, database and session
files) at its ``until``, and stops it cleanly at ``end``. If the app stops by itself, or
the simulated server met a request it cannot answer, the run fails. If it stops because
Telegram ended one of its accounts (``session_revoked``, ``account_banned``), the
play ends there, as ``tgmon run`` would, and the report says why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.app import App, default_components
from bot.runtime import Component
from bot.sim.build import apply_to_world, build_world
from bot.sim.scenario import Scenario, load_scenario
from bot.sim.scenario_events import Fault, Message, Post
from bot.sim.sender import SIM_API_HASH, SIM_API_ID
from bot.sim.transcript import write_transcript
from bot.sim.vclock import VirtualTimeLoop, run_simulated, sleep_until
from bot.telegram.account_end import AccountEnded, AccountEndedError
from config.errors import TgmonError
from config.settings import Settings

if TYPE_CHECKING:
    from telethon import TelegramClient

    from bot.sim.world import World
    from bot.telegram.clients import ClientFactory

log = logging.getLogger(__name__)
Components = Callable[[], Sequence[Component]]


class SimulationError(TgmonError):
    """The simulated run could not go on (the app died, or a request had no answer)."""


@dataclass
class PlayReport:
    scenario: Scenario
    settings: Settings
    world: World
    transcript: Path | None = None
    captured: int | None = None         # posts in the database after the run
    restarts: int = 0
    skipped: list[str] = field(default_factory=list)
    ended: AccountEnded | None = None      # Telegram ended an account: the play stopped
    ended_at: datetime | None = None

    def summary(self) -> str:
        s, w = self.scenario, self.world
        posts = sum(isinstance(e.action, Post) for e in s.events)
        to_bot = len(w.received_by_bot())
        lines = [
            f"Simulated {s.start.isoformat()} to {s.end.isoformat()} ({s.source}):",
            f"  {posts} new posts in {len(s.channels)} channels, {to_bot} messages to the bot, "
            f"{len(w.sent_by_bot())} messages from the bot, {self.restarts} restarts",
            f"  database: {self.settings.db_path} "
            f"({'?' if self.captured is None else self.captured} posts captured)",
        ]
        if self.transcript is not None:
            lines.append(f"  transcript: {self.transcript}")
        lines += [f"  skipped {item}" for item in self.skipped]
        if self.ended is not None and self.ended_at is not None:
            lines.append(f"  tgmon stopped at {self.ended_at.isoformat()}: "
                         f"{self.ended.reason}")
        return "\n".join(lines)


def simulation_settings(base: Settings, world: World) -> Settings:
    """``base`` pointed at the simulation: its bot token, credentials that only the
    simulation accepts, and session files next to the database, apart from real ones."""
    db = base.db_path
    return base.replace(api_id=SIM_API_ID, api_hash=SIM_API_HASH, bot_token=world.bot_token,
                        session_dir=db.parent / f"{db.stem}-sim-sessions")


def reset_sessions(settings: Settings, accounts: Sequence[str] = ("main",)) -> None:
    """Sessions of an earlier simulated world mean nothing to a new one."""
    for base in (*(settings.account_session(a) for a in accounts), settings.bot_session):
        for suffix in (".session", ".session-journal"):
            base.with_name(base.name + suffix).unlink(missing_ok=True)


class Player:
    def __init__(self, scenario: Scenario, settings: Settings, *,
                 components: Components = default_components,
                 base_factory: ClientFactory | None = None) -> None:
        self.scenario = scenario
        self.base_settings = scenario.apply_settings(settings)
        self.components = components
        self.base_factory = base_factory
        self.factory: ClientFactory | None = None
        self.app: App | None = None
        self._runner: asyncio.Task[None] | None = None
        self._clients: tuple[TelegramClient | None, ...] = ()
        self._restart_at: datetime | None = None
        self.report: PlayReport | None = None

    def busy(self) -> bool:
        return self.app is not None and self.app.busy

    async def play(self, transcript: Path | None = None) -> PlayReport:
        """Play the whole scenario; call inside :func:`~bot.sim.vclock.run_simulated`."""
        loop = asyncio.get_running_loop()
        if isinstance(loop, VirtualTimeLoop):
            loop.add_busy(self.busy)
        s = self.scenario
        await sleep_until(s.start)
        world = build_world(s)
        settings = simulation_settings(self.base_settings, world)
        reset_sessions(settings, s.accounts)
        self.report = report = PlayReport(s, settings, world, transcript)
        self.factory = world.client_factory(self.base_factory)
        try:
            await self._start_app()
            for event in s.events:
                await self._advance_to(event.at)
                await self._apply(event, world)
            await self._advance_to(s.end)
        except AccountEndedError as e:
            self.app = self._runner = None       # it stopped itself
            self._note_end(e)
        finally:
            await self._stop_app()
            if transcript is not None:        # also after a failure: it shows how far it got
                write_transcript(transcript, world.chat_log)
        if world.failures:
            raise SimulationError(
                "the simulated Telegram could not answer: " + "; ".join(world.failures[:3]))
        report.captured = await _count_posts(settings.db_path)
        return report

    async def _apply(self, event: Any, world: World) -> None:
        action = event.action
        log.info("%s %s", event.at.isoformat(), _describe(action))
        if isinstance(action, Fault) and action.kind == "app_down":
            await self._stop_app()
            self._restart_at = action.until
            return
        try:
            apply_to_world(world, action)
        except LookupError as e:             # a button nobody could press
            assert self.report is not None
            self.report.skipped.append(f"{event.path}: {e}")
            log.warning("%s: %s", event.path, e)

    async def _advance_to(self, moment: datetime) -> None:
        if self._restart_at is not None and self._restart_at <= moment:
            await self._wait_until(self._restart_at)
            self._restart_at = None
            assert self.report is not None
            self.report.restarts += 1
            await self._start_app()
        await self._wait_until(moment)

    async def _wait_until(self, moment: datetime) -> None:
        """Sleep on the virtual clock, failing if the app dies meanwhile."""
        delay = max(0.0, (moment - datetime.now(UTC)).total_seconds())
        if self._runner is None:
            await asyncio.sleep(delay)
            return
        done, _ = await asyncio.wait({self._runner}, timeout=delay)
        if done:
            self._runner = None
            error = next(iter(done)).exception()
            if isinstance(error, AccountEndedError):
                raise error
            raise SimulationError(f"the app stopped by itself at {datetime.now(UTC).isoformat()}"
                                  f"{self._death_cause()}")

    def _death_cause(self) -> str:
        for client in self._clients:
            error = getattr(client, "_updates_error", None)
            if error is not None:
                return f": {type(error).__name__}: {error}"
        return ""

    async def _start_app(self) -> None:
        assert self.report is not None and self.factory is not None
        app = App(self.report.settings, make_client=self.factory, components=self.components,
                  accounts=self.scenario.accounts)
        self.app = app
        rt = await app.start()
        self._clients = (rt.user, rt.bot)
        self._runner = asyncio.create_task(app.run_until_stopped())

    async def _stop_app(self) -> None:
        app, runner = self.app, self._runner
        self._runner = None
        if app is not None:
            await app.stop()
        if runner is not None:
            try:
                await runner
            except AccountEndedError as e:      # at the very end of the play
                self._note_end(e)
        self.app = None

    def _note_end(self, e: AccountEndedError) -> None:
        assert self.report is not None
        if self.report.ended is None:
            self.report.ended, self.report.ended_at = e.ended, datetime.now(UTC)


def _describe(action: Any) -> str:
    if isinstance(action, Post):
        return f"post {action.post.channel}/{action.post.id}"
    if isinstance(action, Message):
        return f"message from {action.user}: {action.text[:40]!r}"
    if isinstance(action, Fault):
        return f"fault {action.kind}"
    return f"{type(action).__name__.lower()} {getattr(action, 'channel', '')}".rstrip()


async def _count_posts(db_path: Path) -> int | None:
    from storage.db import open_database

    db = await open_database(db_path)
    try:
        row = await db.fetchone("SELECT count(*) FROM posts")
        return int(row[0]) if row else None
    finally:
        await db.close()


def play_scenario(scenario: Scenario, settings: Settings, *,
                  components: Components = default_components,
                  transcript: Path | None = None) -> PlayReport:
    """Play ``scenario`` in virtual time (a blocking call; returns when it has ended)."""
    player = Player(scenario, settings, components=components)
    return run_simulated(lambda: player.play(transcript), start=scenario.start)


def play_file(path: Path | None, settings: Settings, *,
              transcript: Path | None = None) -> PlayReport:
    """``tgmon run --simulate``: load (None: the built-in day) and play."""
    return play_scenario(load_scenario(path), settings, transcript=transcript)
