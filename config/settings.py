"""Settings: read once from the environment and ``.env`` into a frozen object.

Nothing else in tgmon reads the environment. Every setting is described once, in
``SPECS``: its field, its environment variable, how it is parsed, its default and
one line of help. ``.env.example`` and the README's settings table list exactly these
(tests check both).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from config.accounts import MAIN, session_stem
from config.durations import format_duration, parse_duration
from config.errors import TgmonError
from config.sizes import format_size, parse_size
from config.zones import UnknownZoneError, parse_zone

ACCESS_MODES = ("open", "allowlist", "admins")
# Kinds of media files tgmon can download (docs/media.md); TGMON_MEDIA picks some.
MEDIA_KINDS = ("photo", "video", "animation", "document", "audio", "voice", "video_message",
               "sticker")
DEFAULT_MEDIA = ("photo", "video", "document")


class SettingsError(TgmonError):
    """A setting has a value tgmon cannot use."""


@dataclass(frozen=True)
class Server:
    """An MTProto server other than Telegram's own: its test servers, or another one.
    ``dc_id`` is the data centre the server answers as."""

    dc_id: int
    host: str
    port: int
    test: bool = False

    @property
    def name(self) -> str:
        return "test" if self.test else f"{self.dc_id}@{self.host}:{self.port}"

    @property
    def slug(self) -> str:
        """The server in a file name: sessions of different servers never mix."""
        return "test" if self.test else re.sub(
            r"[^A-Za-z0-9.-]+", "_", f"dc{self.dc_id}-{self.host}-{self.port}")


# Telegram's test servers, as Telethon's documentation gives them (DC 2; port 443 may not
# answer there, 80 does).
TEST_SERVER = Server(2, "149.154.167.40", 80, test=True)


@dataclass(frozen=True)
class Settings:
    # Telegram credentials (secrets: never logged, never exported).
    api_id: int | None = None
    api_hash: str | None = field(default=None, repr=False)
    bot_token: str | None = field(default=None, repr=False)
    # Where things live.
    db_path: Path = Path("data/tgmon.db")
    session_dir: Path = Path("data")
    channels_file: Path | None = None
    watch: tuple[str, ...] | None = None
    # Who may use the bot.
    admins: frozenset[int] = frozenset()
    access: str = "allowlist"
    allowlist: frozenset[int] = frozenset()
    # Subscriber defaults.
    timezone: str = "UTC"
    digest_time: time = time(8, 0)
    # Capture.
    initial_window: timedelta = timedelta(hours=24)
    reconcile_interval: timedelta = timedelta(minutes=5)
    recheck_window: timedelta = timedelta(hours=48)
    recheck_interval: timedelta = timedelta(minutes=30)
    # Channels whose discussion comments are captured ("*": all); /watch CHANNEL comments
    # turns them on or off per channel.
    comments: tuple[str, ...] | None = None
    # Several watching accounts: how many channels each joins at most.
    join_limit: int = 450
    # Alerts.
    repost_window: timedelta = timedelta(hours=6)
    # Digests: a digest that fell due while tgmon was down is still sent within this.
    digest_grace: timedelta = timedelta(hours=6)
    log_level: str = "INFO"
    # Another MTProto server (None: Telegram) and the file of its RSA public key.
    server: Server | None = None
    server_key: Path | None = None
    # Media archive (docs/media.md): kinds downloaded (empty: off), a cap per file, a
    # disk budget (None: none) and the directory (None: beside the database).
    media: tuple[str, ...] = DEFAULT_MEDIA
    media_max_size: int = 100 << 20
    media_budget: int | None = None
    media_dir: Path | None = None
    # tgmon serve beyond this machine needs it (a secret: never logged).
    web_password: str | None = field(default=None, repr=False)
    # Webhooks may go to private, loopback and link-local addresses (and use http there).
    webhook_private: bool = False

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def user_session(self) -> Path:
        """The ``main`` watching account's Telethon session file, without ``.session``;
        named after the server when it is not Telegram's (``user-test``)."""
        return self.account_session(MAIN)

    def account_session(self, account: str) -> Path:
        """A watching account's session file, without ``.session``: ``user`` for
        ``main``, ``NAME`` for the others (``NAME-test`` on Telegram's test servers)."""
        return self.session_dir / self._session_name(session_stem(account))

    @property
    def bot_session(self) -> Path:
        return self.session_dir / self._session_name("bot")

    @property
    def media_path(self) -> Path:
        """Where media files are stored: ``TGMON_MEDIA_DIR``, else the database path
        with ``.db`` replaced by ``-media`` (``data/tgmon.db`` -> ``data/tgmon-media``),
        so a simulation's files never mix with the real archive."""
        if self.media_dir is not None:
            return self.media_dir
        db = self.db_path
        stem = db.name[:-3] if db.name.endswith(".db") else db.name
        return db.with_name(f"{stem}-media")

    def _session_name(self, role: str) -> str:
        return role if self.server is None else f"{role}-{self.server.slug}"


# ---- parsers: each takes a string (environment) or an already-typed JSON value ----

def _int(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("expected a whole number")
    if isinstance(v, int):
        return v
    try:
        return int(str(v).strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {v!r}") from None


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected text, got {v!r}")
    return v.strip()


def _path(v: Any) -> Path:
    return (v if isinstance(v, Path) else Path(_str(v))).expanduser()


def _ids(v: Any) -> frozenset[int]:
    items = v if isinstance(v, list | tuple) else [p for p in str(v).replace(";", ",").split(",")]
    out = set()
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        out.add(_int(item))
    return frozenset(out)


def _usernames(v: Any) -> tuple[str, ...]:
    items = v if isinstance(v, list | tuple) else str(v).split(",")
    out = []
    for item in items:
        name = _str(item).lstrip("@")
        if name:
            out.append(name)
    return tuple(out)


def _access(v: Any) -> str:
    s = _str(v).lower()
    if s not in ACCESS_MODES:
        raise ValueError(f"expected one of {', '.join(ACCESS_MODES)}, got {v!r}")
    return s


def _timezone(v: Any) -> str:
    s = _str(v)
    try:
        parse_zone(s)
    except UnknownZoneError:
        raise ValueError(
            f"unknown time zone {v!r} (use an IANA name such as Europe/Kyiv)") from None
    return s


def _clock_time(v: Any) -> time:
    s = _str(v)
    try:
        hh, mm = s.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise ValueError(f"expected a time as HH:MM, got {v!r}") from None


def _duration(v: Any) -> timedelta:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return timedelta(minutes=v)
    return parse_duration(_str(v))


def _join_limit(v: Any) -> int:
    n = _int(v)
    if not 0 <= n <= 1000:
        raise ValueError(f"expected 0 to 1000 channels per account (Telegram allows 500, "
                         f"1000 with Premium), got {v!r}")
    return n


def _log_level(v: Any) -> str:
    s = _str(v).upper()
    if s not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"expected DEBUG, INFO, WARNING or ERROR, got {v!r}")
    return s


_SERVER = re.compile(r"(\d+)@(\[[0-9A-Fa-f:.]+\]|[^\s:@/\[\]]+):(\d+)")


def _server(v: Any) -> Server:
    s = _str(v)
    if s.lower() == "test":
        return TEST_SERVER
    m = _SERVER.fullmatch(s)
    if m is None:
        raise ValueError(f"expected test or DC@HOST:PORT (e.g. 2@127.0.0.1:4430), got {v!r}")
    dc, host, port = int(m[1]), m[2].strip("[]"), int(m[3])
    if not 1 <= dc <= 1000:
        raise ValueError(f"expected a data centre number from 1 to 1000, got {dc} in {v!r}")
    if not 1 <= port <= 65535:
        raise ValueError(f"expected a port from 1 to 65535, got {port} in {v!r}")
    return Server(dc, host, port)


def _media_kinds(v: Any) -> tuple[str, ...]:
    items = v if isinstance(v, list | tuple) else str(v).split(",")
    words = [_str(i).lower() for i in items if _str(i)]
    if words == ["off"] or words == ["none"]:
        return ()
    if words == ["all"]:
        return MEDIA_KINDS
    out: list[str] = []
    for word in words:
        kind = word if word in MEDIA_KINDS else word.removesuffix("s")
        if kind not in MEDIA_KINDS:
            raise ValueError(f"unknown media kind {word!r}: use off, all or some of "
                             f"{', '.join(MEDIA_KINDS)}")
        if kind not in out:
            out.append(kind)
    if not out:
        raise ValueError("expected off, all or media kinds such as photo,video,document")
    return tuple(k for k in MEDIA_KINDS if k in out)


def _size(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        if v <= 0:
            raise ValueError(f"a size must be more than 0 bytes, got {v}")
        return v
    return parse_size(_str(v))


_ON = ("1", "on", "true", "yes", "allow")
_OFF = ("0", "off", "false", "no", "")


def _switch(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    s = _str(v).lower()
    if s in _ON or s in _OFF:
        return s in _ON
    raise ValueError(f"expected on or off, got {v!r}")


def _show_duration(v: timedelta) -> str:
    return format_duration(v)


@dataclass(frozen=True)
class Spec:
    name: str                       # Settings field, also the key in a scenario's "settings"
    env: str                        # environment variable
    parse: Callable[[Any], Any]
    help: str
    secret: bool = False
    show: Callable[[Any], str] = str


SPECS: tuple[Spec, ...] = (
    Spec("api_id", "TGMON_API_ID", _int,
         "Telegram API id of the watching user account (https://my.telegram.org)."),
    Spec("api_hash", "TGMON_API_HASH", _str, "Telegram API hash that goes with the API id.",
         secret=True),
    Spec("bot_token", "TGMON_BOT_TOKEN", _str, "Token of the tgmon bot from @BotFather.",
         secret=True),
    Spec("db_path", "TGMON_DB", _path, "SQLite database of the captured-post log."),
    Spec("session_dir", "TGMON_SESSION_DIR", _path,
         "Directory of the Telethon session files (user.session, bot.session)."),
    Spec("channels_file", "TGMON_CHANNELS_FILE", _path,
         "Watch list file; default: the channels.toml shipped in config/."),
    Spec("watch", "TGMON_WATCH", _usernames,
         "Comma-separated usernames to watch instead of the channels file.",
         show=lambda v: ",".join(v)),
    Spec("admins", "TGMON_ADMINS", _ids, "Comma-separated Telegram user ids of the bot's admins.",
         show=lambda v: ",".join(map(str, sorted(v)))),
    Spec("access", "TGMON_ACCESS", _access,
         "Who may use the bot: open (anyone), allowlist (admins and allowed users), admins."),
    Spec("allowlist", "TGMON_ALLOWLIST", _ids,
         "Comma-separated user ids allowed in allowlist mode (admins can add more with /allow).",
         show=lambda v: ",".join(map(str, sorted(v)))),
    Spec("timezone", "TGMON_TIMEZONE", _timezone,
         "Default time zone of subscribers (IANA name); each can set their own with /timezone."),
    Spec("digest_time", "TGMON_DIGEST_TIME", _clock_time,
         "Default local time of the daily digest, HH:MM.", show=lambda v: v.strftime("%H:%M")),
    Spec("initial_window", "TGMON_INITIAL_WINDOW", _duration,
         "How far back a channel watched for the first time is read.", show=_show_duration),
    Spec("reconcile_interval", "TGMON_RECONCILE_INTERVAL", _duration,
         "How often each channel is polled for posts that pushes missed.", show=_show_duration),
    Spec("recheck_window", "TGMON_RECHECK_WINDOW", _duration,
         "How far back posts are re-checked for deletions and new view counts.",
         show=_show_duration),
    Spec("recheck_interval", "TGMON_RECHECK_INTERVAL", _duration,
         "How often recent posts are re-checked.", show=_show_duration),
    Spec("comments", "TGMON_COMMENTS", _usernames,
         "Comma-separated usernames whose discussion comments are captured, or * for every "
         "watched channel (admins turn them on or off with /watch CHANNEL comments).",
         show=lambda v: ",".join(v)),
    Spec("join_limit", "TGMON_JOIN_LIMIT", _join_limit,
         "Channels each watching account joins at most (Telegram allows 500); channels "
         "beyond every account's limit are polled."),
    Spec("repost_window", "TGMON_REPOST_WINDOW", _duration,
         "The same story posted or forwarded by several channels within this alerts once.",
         show=_show_duration),
    Spec("digest_grace", "TGMON_DIGEST_GRACE", _duration,
         "A digest that fell due while tgmon was down is sent after restart within this.",
         show=_show_duration),
    Spec("log_level", "TGMON_LOG_LEVEL", _log_level,
         "DEBUG, INFO, WARNING or ERROR. DEBUG adds each failure's traceback and Telethon's "
         "update handling (gaps, differences)."),
    Spec("server", "TGMON_SERVER", _server,
         "Another MTProto server: test (Telegram's test servers) or DC@HOST:PORT; "
         "default: Telegram.", show=lambda v: v.name),
    Spec("server_key", "TGMON_SERVER_KEY", _path,
         "PEM file of that server's RSA public key (for DC@HOST:PORT)."),
    Spec("media", "TGMON_MEDIA", _media_kinds,
         "Media downloaded into the archive: off, all, or kinds among "
         + ", ".join(MEDIA_KINDS) + ".", show=lambda v: ",".join(v) or "off"),
    Spec("media_max_size", "TGMON_MEDIA_MAX_SIZE", _size,
         "Files larger than this are recorded as too_large and not downloaded.",
         show=format_size),
    Spec("media_budget", "TGMON_MEDIA_BUDGET", _size,
         "Disk space the media archive may fill; downloads pause when it is reached "
         "(default: no budget).", show=format_size),
    Spec("media_dir", "TGMON_MEDIA_DIR", _path,
         "Directory of the media archive; default: the database path with .db replaced "
         "by -media (data/tgmon-media)."),
    Spec("web_password", "TGMON_WEB_PASSWORD", _str,
         "Password of tgmon serve (user tgmon); needed to serve beyond 127.0.0.1.",
         secret=True),
    Spec("webhook_private", "TGMON_WEBHOOK_PRIVATE", _switch,
         "on: webhooks may go to private, loopback and link-local addresses, over http "
         "too (a desk's own network, tests); off: public https only.",
         show=lambda v: "on" if v else "off"),
)

SPEC_BY_NAME = {s.name: s for s in SPECS}


def settings_from_values(values: Mapping[str, Any], *, base: Settings | None = None,
                         source: Callable[[Spec], str] = lambda s: s.name) -> Settings:
    """Apply ``{field name: raw value}`` on top of ``base``; unknown names are errors.

    ``source`` names a setting in error messages (an env variable, a JSON path).
    """
    changes: dict[str, Any] = {}
    for name, raw in values.items():
        spec = SPEC_BY_NAME.get(name)
        if spec is None:
            known = ", ".join(sorted(SPEC_BY_NAME))
            raise SettingsError(f"unknown setting {name!r}; known settings: {known}")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            changes[name] = spec.parse(raw)
        except ValueError as e:
            raise SettingsError(f"{source(spec)}: {e}") from None
    return (base or Settings()).replace(**changes)


def load_settings(environ: Mapping[str, str] | None = None, *,
                  env_file: str | Path | None = ".env",
                  overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read the settings once: ``.env`` first, the environment over it, ``overrides`` last.

    ``overrides`` holds command-line options such as ``--db`` by field name.
    """
    env: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        env.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    values = {s.name: env[s.env] for s in SPECS if s.env in env}
    settings = settings_from_values(values, source=lambda s: s.env)
    if overrides:
        settings = settings_from_values(
            {k: v for k, v in overrides.items() if v is not None}, base=settings,
            source=lambda s: f"--{s.name.replace('_', '-')}")
    return settings
