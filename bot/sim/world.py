"""The simulated Telegram server: its state, the accounts' clients, faults, and what it
recorded. What happens in it (posts, edits, people writing to the bot) is in
:mod:`bot.sim.activity`; how it answers requests is in :mod:`bot.sim.rpc`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telethon.tl import types

from bot.sim import render
from bot.sim.activity import Activity
from bot.sim.files import SimFile
from bot.sim.limits import BotSendLimits, Faults
from bot.sim.model import (
    Account,
    CallbackAnswer,
    Channel,
    ChatMessage,
    Group,
    Person,
    RequestRecord,
)
from bot.sim.tl import RpcFail, method_name, request_class

if TYPE_CHECKING:
    from telethon import TelegramClient

    from bot.sim.sender import SimSender
    from bot.sim.srp import TwoStepPassword
    from bot.telegram.clients import ClientFactory

USER_ACCOUNT_ID = 5_100_000_001
BOT_ACCOUNT_ID = 6_100_000_001
ROLES = ("user", "bot")

ChannelRef = Channel | str | int
PersonRef = Person | int


class World(Activity):
    """Channels, people, the watching user accounts (``main`` is ``user``; more with
    :meth:`add_account`) and the bot, as Telegram's servers hold them.

    ``clock`` is the simulation's wall clock; by default ``datetime.now(UTC)``, which
    :func:`bot.sim.vclock.run_simulated` makes virtual.
    """

    def __init__(self, *, clock: Callable[[], datetime] | None = None,
                 user: Account | None = None, bot: Account | None = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.user = user or Account(USER_ACCOUNT_ID, "Monitor", phone="15550000001")
        self.bot = bot or Account(BOT_ACCOUNT_ID, "tgmon (simulated)",
                                  username="tgmon_sim_bot", bot=True)
        self.watching: dict[str, Account] = {self.user.name: self.user}   # by tgmon's name
        self.bot_token = f"{self.bot.id}:SIMULATED-bot-token"
        self.login_code = "12345"
        self.channels: dict[int, Channel] = {}
        self.people: dict[int, Person] = {}
        self.groups: dict[int, Group] = {}
        self.faults = Faults()
        self.bot_limits = BotSendLimits()
        # authorization: auth key id -> account id; new user sessions start logged in,
        # as after `tgmon login` (set False to test the "not logged in" path)
        self.sessions: dict[int, int] = {}
        self.user_logged_in = True
        # accounts Telegram ended: auth key id -> the error its requests get, and banned
        # account ids (their requests answer USER_DEACTIVATED_BAN)
        self.revoked: dict[int, str] = {}
        self.banned: set[int] = set()
        self.two_step: TwoStepPassword | None = None     # set_two_step_password()
        self.latency = 0.0              # virtual seconds from a request to its answer
        # channels.getMessages leaves out ids without a post instead of answering
        # messageEmpty for them, as some independent MTProto servers do
        self.omit_missing_messages = False
        self.senders: list[SimSender] = []
        # records
        self.requests: list[RequestRecord] = []
        self.keep_requests = True       # False: count them only (a long benchmark)
        self.request_counts: dict[tuple[int, str], int] = {}   # (account id, method) -> n
        self.chat_log: list[ChatMessage] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.open_queries: dict[int, tuple[int, int]] = {}     # query id -> (user, msg id)
        self.uploads: dict[int, dict[int, bytes]] = {}         # file id -> part -> bytes
        self.documents: dict[int, Any] = {}                    # media the bot sent, by id
        self.files: dict[int, SimFile] = {}                    # channel posts' files, by id
        # seconds a file reference stays valid (None: until revoked)
        self.file_reference_lifetime: float | None = None
        self.answered: dict[str, int] = {}                     # method -> answers given
        self.connection_attempts: list[tuple[str, bool]] = []  # (role, succeeded)
        self.failures: list[str] = []                          # requests it could not answer
        self.bot_commands: list[tuple[str, str]] = []
        self._ids = itertools.count(7_000_000_001)
        self._query_ids = itertools.count(1)

    # ---- time ----

    def now(self) -> datetime:
        return self.clock()

    def ts(self) -> float:
        return self.clock().timestamp()

    def new_id(self) -> int:
        return next(self._ids)

    # ---- setup ----

    @property
    def accounts(self) -> dict[int, Account]:
        return {**{a.id: a for a in self.watching.values()}, self.bot.id: self.bot}

    def account(self, role: str, name: str | None = None) -> Account:
        """The bot, or the watching account ``name`` (default: main)."""
        if role not in ROLES:
            raise ValueError(f"unknown client role {role!r} (known: {', '.join(ROLES)})")
        if role == "bot":
            return self.bot
        if name is None:
            return self.user
        if name not in self.watching:
            raise KeyError(f"no watching account {name!r} (known: "
                           f"{', '.join(self.watching)})")
        return self.watching[name]

    def add_account(self, name: str, *, join_limit: int | None = None) -> Account:
        """Another watching user account (tgmon's ``--account NAME``); its sessions start
        logged in, as ``main``'s do."""
        if name in self.watching:
            raise ValueError(f"watching account {name!r} exists already")
        n = len(self.watching)
        acc = Account(USER_ACCOUNT_ID + n, f"Monitor {n + 1}", phone=f"1555000{n + 1:04d}",
                      name=name, join_limit=join_limit or self.user.join_limit)
        self.watching[name] = acc
        return acc

    def set_join_limit(self, limit: int) -> None:
        """Channels each watching account may be a member of (Telegram: 500)."""
        for acc in self.watching.values():
            acc.join_limit = limit

    def add_channel(self, username: str | None, title: str | None = None, *,
                    id: int | None = None, joined: bool = True,
                    created: datetime | None = None) -> Channel:
        cid = id if id is not None else self.new_id()
        if cid in self.channels:
            raise ValueError(f"channel id {cid} exists already")
        if username and self.find_username(username) is not None:
            raise ValueError(f"username {username!r} is taken")
        ch = Channel(cid, username, title or username or str(cid), created or self.now(),
                     origin=username)
        self.channels[cid] = ch
        if joined:
            self.join(self.user, ch)
        return ch

    def add_discussion(self, channel: Any, title: str | None = None, *,
                       id: int | None = None) -> Channel:
        """A discussion group linked to ``channel``: each new post of the channel gets a
        copy there, and comments answer that copy (:meth:`comment`). The watching
        account is not a member: it gets no pushes of comments and reads them."""
        ch = self.channel(channel)
        group = self.add_channel(None, title or f"{ch.title} chat", id=id, joined=False)
        group.megagroup, group.linked, ch.discussion = True, ch.id, group.id
        return group

    def add_user(self, first_name: str, username: str | None = None, *,
                 id: int | None = None, last_name: str | None = None) -> Person:
        uid = id if id is not None else self.new_id()
        if uid in self.people or uid in self.accounts:
            raise ValueError(f"user id {uid} exists already")
        person = Person(uid, first_name, last_name, username)
        self.people[uid] = person
        return person

    def add_group(self, title: str, members: Iterable[PersonRef] = (), *,
                  id: int | None = None) -> Group:
        gid = id if id is not None else self.new_id() % 1_000_000_000
        g = Group(gid, title, self.now(), {self.person(m).id for m in members})
        self.groups[gid] = g
        return g

    def join(self, acc: Account, ch: Channel) -> None:
        ch.members.add(acc.id)
        ch.banned.discard(acc.id)
        acc.seen[ch.id] = ch.pts

    # ---- lookups ----

    def channel(self, ref: ChannelRef) -> Channel:
        """A channel by object, id or username (case-insensitive, ``@`` optional)."""
        if isinstance(ref, Channel):
            return ref
        if isinstance(ref, int):
            if ref in self.channels:
                return self.channels[ref]
        else:
            name = ref.lstrip("@").lower()
            for ch in self.channels.values():
                if ch.username and ch.username.lower() == name:
                    return ch
            for ch in self.channels.values():
                if ch.origin and ch.origin.lower() == name:
                    return ch
        known = ", ".join(sorted(c.ref() for c in self.channels.values()))
        raise KeyError(f"no channel {ref!r} (known: {known})")

    def person(self, ref: PersonRef) -> Person:
        if isinstance(ref, Person):
            return ref
        if ref not in self.people:
            raise KeyError(f"no user {ref} (known: {', '.join(map(str, self.people))})")
        return self.people[ref]

    def find_username(self, username: str) -> Channel | Person | Account | None:
        name = username.lstrip("@").lower()
        candidates: list[Any] = [*self.channels.values(), *self.people.values(),
                                 *self.accounts.values()]
        for obj in candidates:
            if obj.username and obj.username.lower() == name:
                return obj
        return None

    def input_channel(self, acc: Account, peer: Any) -> Channel:
        """The channel an ``InputChannel``/``InputPeerChannel`` names, as ``acc`` may use it."""
        cid = getattr(peer, "channel_id", None)
        ch = self.channels.get(cid) if cid is not None else None
        if ch is None or getattr(peer, "access_hash", None) != render.access_hash(acc.id, ch.id):
            raise RpcFail(400, "CHANNEL_INVALID")
        if acc.id in ch.banned:
            raise RpcFail(400, "CHANNEL_PRIVATE")
        return ch

    def input_person(self, acc: Account, peer: Any) -> Person:
        """The person an ``InputUser``/``InputPeerUser`` names. Bots may give hash 0 for
        people who wrote to them (Telethon does, for ids it has no hash of)."""
        person = self.people.get(getattr(peer, "user_id", 0))
        if person is None:
            raise RpcFail(400, "PEER_ID_INVALID")
        given = getattr(peer, "access_hash", None)
        if given != render.access_hash(acc.id, person.id) and not (
                acc.bot and given == 0 and person.started_bot):
            raise RpcFail(400, "PEER_ID_INVALID")
        return person

    # ---- faults ----

    def _accounts_for(self, role: str | None, account: str | None = None) -> list[Account]:
        """A fault's accounts: the watching account ``account``; else every watching
        account (``user``), the bot (``bot``), or all of them (None)."""
        if account is not None:
            return [self.account("user", account)]
        users = list(self.watching.values())
        return users if role == "user" else [self.bot] if role == "bot" else [*users, self.bot]

    def drop_updates(self, seconds: float, *, role: str | None = None,
                     account: str | None = None) -> None:
        """Pushes to ``role``'s clients (default: all) are lost for ``seconds``."""
        for acc in self._accounts_for(role, account):
            self.faults.drop_until[acc.id] = self.ts() + seconds

    def disconnect(self, seconds: float = 5.0, *, role: str | None = None,
                   account: str | None = None) -> None:
        """The network drops: connected clients lose their link for ``seconds``."""
        accounts = {a.id for a in self._accounts_for(role, account)}
        for sender in list(self.senders):
            if sender.account.id in accounts:
                sender.drop_link(seconds)

    def unreachable(self, seconds: float, *, role: str | None = None,
                    account: str | None = None) -> None:
        """Telegram cannot be reached for ``seconds`` (the network is down, or a proxy in
        between refuses every connection): connected clients lose their link, and every
        connection attempt fails meanwhile, as Telethon meets it: its sender retries
        (``connection_retries``, ``retry_delay`` apart, logging each failed attempt)
        and then gives up, ending the client's ``disconnected`` with a ConnectionError;
        ``connect()`` raises one after its attempts."""
        accounts = {a.id for a in self._accounts_for(role, account)}
        for acc in accounts:
            self.faults.unreachable_until[acc] = self.ts() + seconds
        for sender in list(self.senders):
            if sender.account.id in accounts:
                sender.lose_network()

    def reachable(self, account: Account) -> bool:
        return not self.faults.unreachable(account.id, self.ts())

    def flood_wait(self, method: str, seconds: float, *, role: str | None = None,
                   account: str | None = None) -> None:
        """``method`` (e.g. ``messages.getHistory``) answers FLOOD_WAIT for ``seconds``."""
        if request_class(method) is None:
            raise ValueError(f"unknown method {method!r} (e.g. messages.getHistory)")
        for acc in self._accounts_for(role, account):
            self.faults.flood_until[(acc.id, method)] = self.ts() + seconds

    def expire_file_references(self, channel: ChannelRef, message_id: int) -> None:
        """The file references of a post's file handed out so far expire: the next
        ``upload.getFile`` with one answers ``FILE_REFERENCE_EXPIRED`` (read the message
        again for a fresh one)."""
        ch = self.channel(channel)
        post = ch.posts.get(message_id)
        if post is None or post.file is None:
            raise KeyError(f"{ch.ref()} has no post {message_id} with a file")
        post.file.revoke()

    def set_resolve_budget(self, count: int, window_seconds: float) -> None:
        self.faults.resolve_budget, self.faults.resolve_window = count, window_seconds
        self.faults.resolve.clear()

    def block_bot(self, user: PersonRef, blocked: bool = True) -> None:
        self.person(user).blocked_bot = blocked

    def make_private(self, channel: ChannelRef) -> None:
        """The channel goes private and the accounts lose access: its username is gone,
        requests about it answer CHANNEL_PRIVATE, members get ``updateChannel``."""
        ch = self.channel(channel)
        ch.username = None
        was = [self.accounts[a] for a in ch.members if a in self.accounts]
        ch.banned |= set(self.accounts)
        ch.members.clear()
        for acc in was:
            self.deliver(acc, types.Updates(updates=[types.UpdateChannel(ch.id)], users=[],
                                            chats=[render.channel(ch, acc)],
                                            date=self.now(), seq=0))

    def change_username(self, channel: ChannelRef, username: str | None) -> None:
        """The channel changes or drops its username; the old one stops resolving."""
        ch = self.channel(channel)
        if username and self.find_username(username) not in (None, ch):
            raise ValueError(f"username {username!r} is taken")
        ch.username = username

    def revoke_sessions(self, role: str, account: str | None = None) -> None:
        """Every session of ``role``'s account (a watching account: ``account``, default
        main) ends: the person terminated them (user: requests answer
        ``SESSION_REVOKED``), or the bot's token was revoked in @BotFather (bot:
        ``AUTH_KEY_UNREGISTERED``, and the old token is refused). Pushes stop."""
        acc = self.account(role, account)
        code = "AUTH_KEY_UNREGISTERED" if acc.bot else "SESSION_REVOKED"
        for key, owner in list(self.sessions.items()):
            if owner == acc.id:
                del self.sessions[key]
                self.revoked[key] = code
        if acc.bot:
            self.bot_token = f"{acc.id}:SIMULATED-bot-token-{len(self.revoked)}"

    def ban(self, role: str, account: str | None = None) -> None:
        """Telegram bans ``role``'s account (a watching account: ``account``, default
        main): every request that needs a logged-in account answers
        ``USER_DEACTIVATED_BAN``; pushes stop."""
        self.banned.add(self.account(role, account).id)

    def ended(self, sender: SimSender) -> str | None:
        """The 401 error a request from ``sender`` gets because its account or session
        was ended, if it was."""
        if sender.account.id in self.banned:
            return "USER_DEACTIVATED_BAN"
        return self.revoked.get(sender.auth_key.key_id)

    # ---- sessions and requests ----

    def session_opened(self, sender: SimSender) -> None:
        """A client connected. A user session it does not know starts logged in (as if
        `tgmon login` had been run) unless ``user_logged_in`` is off (or it was revoked)."""
        key = sender.auth_key.key_id
        if key not in self.sessions and key not in self.revoked and sender.role == "user" \
                and self.user_logged_in:
            self.sessions[key] = sender.account.id

    def set_two_step_password(self, password: str | None) -> None:
        """The user account's two-step password (None: none); a login must give it."""
        from bot.sim.srp import TwoStepPassword

        self.two_step = TwoStepPassword.set(password) if password else None

    def authorize(self, sender: SimSender) -> None:
        self.sessions[sender.auth_key.key_id] = sender.account.id

    def authorized(self, sender: SimSender) -> bool:
        return self.sessions.get(sender.auth_key.key_id) == sender.account.id

    def handle(self, sender: SimSender, request: Any) -> Any:
        """Answer one decoded request from ``sender`` (raises RpcFail for RPC errors)."""
        from bot.sim.rpc import dispatch

        return dispatch(self, sender, request)

    # ---- clients ----

    def make_client(self, role: str, session: str | Path | None = None,
                    account: str = "main", **kwargs: Any) -> TelegramClient:
        """A real, unconnected ``TelegramClient`` whose network is this world (a
        ``user`` client logs in as the watching account ``account``)."""
        from telethon import TelegramClient

        from bot.sim.sender import SIM_API_HASH, SIM_API_ID, attach
        client = TelegramClient(None if session is None else str(session),
                                SIM_API_ID, SIM_API_HASH, **kwargs)
        return attach(self, client, role, account)

    def client_factory(self, base: ClientFactory | None = None) -> ClientFactory:
        """A :data:`~bot.telegram.clients.ClientFactory` for :class:`bot.app.App`:
        ``base`` builds the client exactly as in production (default: ``tgmon run``'s
        factory with simulated credentials), then its network layer is swapped for this
        world."""
        from bot.sim.sender import attach

        if base is None:
            from bot.sim.sender import SIM_API_HASH, SIM_API_ID
            from bot.telegram.clients import telegram_client_factory
            from config.settings import Settings
            base = telegram_client_factory(Settings(api_id=SIM_API_ID, api_hash=SIM_API_HASH))
        made = base

        def make(role: str, session: Path, account: str = "main") -> TelegramClient:
            return attach(self, made(role, session, account), role, account)
        return make

    # ---- records ----

    def requests_of(self, request_type: type | str, *, role: str | None = None,
                    account: str | None = None) -> list[Any]:
        """Requests received of a type (class or method name such as
        ``messages.getHistory``), from ``role``'s clients or the watching account
        ``account``'s."""
        name = request_type if isinstance(request_type, str) else method_name(request_type)
        who = None if account is None else self.account("user", account).id
        return [r.request for r in self.requests
                if method_name(r.request) == name and (role is None or r.role == role)
                and (who is None or r.account_id == who)]

    def sent_by_bot(self, chat_id: int | None = None) -> list[ChatMessage]:
        return [m for m in self.chat_log if m.out and (chat_id is None or m.chat_id == chat_id)]

    def received_by_bot(self, chat_id: int | None = None) -> list[ChatMessage]:
        return [m for m in self.chat_log
                if not m.out and (chat_id is None or m.chat_id == chat_id)]
