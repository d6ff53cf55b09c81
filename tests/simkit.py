"""Driving the simulated Telegram from tests (the ``sim`` fixture, in conftest.py).

Tests are plain (sync) functions; ``sim.run(body)`` runs an async ``body`` on the
virtual clock, so waits of minutes or hours cost nothing::

    def test_post_reaches_handler(sim):
        legion = sim.world.add_channel("legionoffreedom", "Легион")   # joined by the user
        async def body():
            user = await sim.user()                  # a connected, real TelegramClient
            seen = []
            user.add_event_handler(lambda e: _append(seen, e), events.NewMessage())
            sim.world.post(legion, "Тёткино")          # pushed with pts, like Telegram
            await sim.until(lambda: seen)            # polls on virtual time; fails after 60 s
        sim.run(body)

The real application, started and stopped around a block::

    async def body():
        async with sim.running(lambda: [MyComponent()]) as (app, rt):  # on sim.settings()
            sim.world.user_writes(alice, "/start")           # a person writes to the bot
            await sim.until(lambda: sim.world.sent_by_bot(alice.id))

``sim.until(condition)`` is the one way to wait: ``condition`` is a plain or an async
function (``lambda: pending(rt.db)``), polled on the virtual clock until it is true.

A scenario: ``sim.play({...scenario JSON...}, components=...)`` returns the PlayReport.

The world (``bot.sim.world.World``): set up with ``add_channel``, ``add_user``,
``add_group``, ``post(..., push=False)`` for history; act with ``post``, ``edit``,
``delete``, ``set_views``, ``user_writes``, ``press``; break things with
``drop_updates``, ``disconnect``, ``flood_wait``, ``set_resolve_budget``, ``block_bot``,
``make_private``, ``change_username``; inspect ``requests_of("messages.getHistory")``,
``sent_by_bot(chat_id)``, ``received_by_bot()``, ``callback_answers``, ``chat_log``.
A request the simulation cannot answer fails the test at the end of ``sim.run``.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from telethon import Button, TelegramClient, events

from bot.app import App
from bot.runtime import Component, Runtime
from bot.sim.player import Player, PlayReport
from bot.sim.scenario import Scenario, parse_scenario
from bot.sim.sender import SIM_API_HASH, SIM_API_ID
from bot.sim.vclock import run_simulated
from bot.sim.world import World
from config.settings import Settings

T = TypeVar("T")
T0 = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)


async def until(condition: Callable[[], Any], timeout: float = 60.0, step: float = 0.1) -> None:
    """Wait (virtual time) until ``condition()`` is true, awaiting it if it returns an
    awaitable (an async check of the database); fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        met = condition()
        if inspect.isawaitable(met):
            met = await met
        if met:
            return
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} virtual seconds")
        await asyncio.sleep(step)


class Sim:
    def __init__(self, tmp_path: Path, start: datetime = T0) -> None:
        self.tmp = tmp_path
        self.start = start
        self.world = World(clock=self.now)
        self.apps: list[App] = []
        self.clients: list[TelegramClient] = []
        self.allow_failures = False
        self._running = False

    def now(self) -> datetime:
        return datetime.now(UTC) if self._running else self.start

    # ---- configuration ----

    def settings(self, **changes: Any) -> Settings:
        """Settings of an app on this world: database and sessions under tmp_path."""
        watch = tuple(c.username for c in self.world.channels.values() if c.username)
        base = Settings(api_id=SIM_API_ID, api_hash=SIM_API_HASH,
                        bot_token=self.world.bot_token, db_path=self.tmp / "tgmon.db",
                        session_dir=self.tmp / "sessions", watch=watch)
        return base.replace(**changes)

    # ---- running ----

    def run(self, body: Callable[[], Awaitable[T]]) -> T:
        """Run ``body`` on the virtual clock; stop leftover apps and clients after it."""
        async def main() -> T:
            self._running = True
            try:
                return await body()
            finally:
                for app in self.apps:
                    await app.stop()
                for client in self.clients:
                    await client.disconnect()
                self._running = False

        result = run_simulated(main, start=self.start,
                               busy=[lambda: any(a.busy for a in self.apps)])
        if self.world.failures and not self.allow_failures:
            raise AssertionError(f"the simulated Telegram failed: {self.world.failures}")
        return result

    def app(self, components: Callable[[], Sequence[Component]] = lambda: [],
            settings: Settings | None = None, accounts: Sequence[str] | None = None) -> App:
        """An app on this world; ``accounts``: its watching accounts (default: the
        world's, ``main`` first)."""
        app = App(settings or self.settings(), make_client=self.world.client_factory(),
                  components=components, accounts=accounts or list(self.world.watching))
        self.apps.append(app)
        return app

    @asynccontextmanager
    async def running(self, components: Callable[[], Sequence[Component]] = lambda: [],
                      settings: Settings | None = None,
                      accounts: Sequence[str] | None = None,
                      ) -> AsyncIterator[tuple[App, Runtime]]:
        """The app (on ``settings``, default :meth:`settings`; with ``accounts``, default
        every watching account of the world) started for the block and stopped after it,
        also when the block fails: ``async with sim.running(...) as (app, rt)``."""
        app = self.app(components, settings, accounts)
        rt = await app.start()
        try:
            yield app, rt
        finally:
            await app.stop()

    async def client(self, role: str = "user", session: str | None = None,
                     account: str = "main", **kwargs: Any) -> TelegramClient:
        """A connected client (the bot one logged in with the world's token; a user one as
        the watching account ``account``). ``session`` names a session file under
        tmp_path; None keeps it in memory."""
        path = None if session is None else str(self.tmp / session)
        client = self.world.make_client(role, path, account, **kwargs)
        self.clients.append(client)
        if role == "bot":
            await client.start(bot_token=self.world.bot_token)
        else:
            await client.connect()
        return client

    async def user(self, session: str | None = None, **kwargs: Any) -> TelegramClient:
        return await self.client("user", session, **kwargs)

    async def bot(self, session: str | None = None, **kwargs: Any) -> TelegramClient:
        return await self.client("bot", session, **kwargs)

    async def until(self, condition: Callable[[], Any], timeout: float = 60.0,
                    step: float = 0.1) -> None:
        """:func:`until`: wait on the virtual clock until ``condition()`` is true."""
        await until(condition, timeout, step)

    async def ask(self, who: Any, text: str, *, group: Any = None, chat_id: int | None = None,
                  timeout: float = 60.0) -> Any:
        """A person writes to the bot; returns the bot's next message in that chat."""
        chat = chat_id if chat_id is not None else who.id
        before = len(self.world.sent_by_bot(chat))
        self.world.user_writes(who, text, group=group)
        await self.until(lambda: len(self.world.sent_by_bot(chat)) > before, timeout=timeout)
        return self.world.sent_by_bot(chat)[before]

    def texts(self, chat_id: int) -> list[str]:
        """The texts of what the bot sent to a chat, in order."""
        return [m.text for m in self.world.sent_by_bot(chat_id)]

    def play(self, scenario: dict[str, Any] | Scenario, *,
             components: Callable[[], Sequence[Component]] = lambda: [],
             transcript: Path | None = None) -> PlayReport:
        """Play a scenario (a JSON-like dict or a parsed Scenario) on the database under
        tmp_path."""
        if isinstance(scenario, dict):
            scenario = parse_scenario(json.dumps(scenario), "scenario.json")
        player = Player(scenario, self.settings(watch=None), components=components)
        return run_simulated(lambda: player.play(transcript), start=scenario.start)


# ---- small components of the real App, for tests of the simulation itself ----

class PostRecorder:
    """Records what reaches the user client's handlers: ("new"|"edit"|"delete", channel
    id, message id(s), text). Shared across App restarts through ``seen``."""

    name = "post-recorder"

    def __init__(self, seen: list[tuple[Any, ...]]) -> None:
        self.seen = seen
        self.rt: Runtime | None = None

    async def start(self, rt: Runtime) -> None:
        self.rt = rt
        rt.user.add_event_handler(self.on_new, events.NewMessage())
        rt.user.add_event_handler(self.on_edit, events.MessageEdited())
        rt.user.add_event_handler(self.on_delete, events.MessageDeleted())

    async def stop(self) -> None:
        if self.rt is not None:
            for handler in (self.on_new, self.on_edit, self.on_delete):
                self.rt.user.remove_event_handler(handler)

    async def on_new(self, event: Any) -> None:
        self.seen.append(("new", event.chat_id, event.id, event.raw_text))

    async def on_edit(self, event: Any) -> None:
        self.seen.append(("edit", event.chat_id, event.id, event.raw_text))

    async def on_delete(self, event: Any) -> None:
        self.seen.append(("delete", event.chat_id, tuple(event.deleted_ids), None))


class EchoBot:
    """Answers people through the bot client: ``/file`` sends a CSV, anything else is
    echoed in bold HTML with an inline button; the button's press is answered."""

    name = "echo-bot"

    def __init__(self) -> None:
        self.rt: Runtime | None = None

    async def start(self, rt: Runtime) -> None:
        assert rt.bot is not None
        self.rt = rt
        rt.bot.add_event_handler(self.on_message, events.NewMessage(incoming=True))
        rt.bot.add_event_handler(self.on_press, events.CallbackQuery())

    async def stop(self) -> None:
        if self.rt is not None and self.rt.bot is not None:
            self.rt.bot.remove_event_handler(self.on_message)
            self.rt.bot.remove_event_handler(self.on_press)

    async def on_message(self, event: Any) -> None:
        if event.raw_text == "/file":
            data = io.BytesIO(b"channel,id\nlegionoffreedom,3103\n")
            data.name = "posts.csv"
            await event.respond(file=data, message="<i>your export</i>", force_document=True)
            return
        await event.respond(f"<b>echo:</b> {html.escape(event.raw_text)}",
                            buttons=[Button.inline("again", b"again")])

    async def on_press(self, event: Any) -> None:
        await event.answer("pressed")


async def append_to(target: list[Any], value: Any) -> None:
    target.append(value)
