"""The watch list file (``channels.toml``): usernames with a label."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from config.errors import TgmonError

# Telegram usernames: 4-32 characters, letters, digits and underscores.
USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_KEYS = {"username", "label"}


class ChannelsFileError(TgmonError):
    """The watch list file is invalid."""


@dataclass(frozen=True)
class ChannelSpec:
    username: str
    label: str


def default_channels_file() -> Path:
    return Path(str(resources.files("config").joinpath("channels.toml")))


def normalize_username(name: str) -> str:
    """``@Rybar``, ``https://t.me/rybar`` -> ``rybar`` (lower case: usernames ignore case)."""
    s = name.strip()
    s = re.sub(r"^(?:https?://)?(?:t\.me|telegram\.me|telegram\.dog)/", "", s, flags=re.I)
    return s.lstrip("@").split("/")[0].split("?")[0].lower()


def load_channels(path: Path | None = None) -> tuple[ChannelSpec, ...]:
    path = path or default_channels_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ChannelsFileError(f"{path}: channels file not found") from None
    except (IsADirectoryError, UnicodeDecodeError, PermissionError) as e:
        raise ChannelsFileError(f"{path}: cannot read the channels file ({e})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # tomllib's message already names the line and column.
        raise ChannelsFileError(f"{path}: invalid TOML: {e}") from None
    return parse_channels(data, text, str(path))


def parse_channels(data: dict, text: str, where: str) -> tuple[ChannelSpec, ...]:
    unknown_top = set(data) - {"channel"}
    if unknown_top:
        raise ChannelsFileError(
            f"{where}: unknown key {sorted(unknown_top)[0]!r}; "
            "the file holds only [[channel]] tables")
    entries = data.get("channel", [])
    if not isinstance(entries, list):
        raise ChannelsFileError(f"{where}: 'channel' must be a list of [[channel]] tables")
    header_lines = [i + 1 for i, line in enumerate(text.splitlines())
                    if line.strip().startswith("[[channel]]")]
    out: list[ChannelSpec] = []
    seen: dict[str, int] = {}
    for k, entry in enumerate(entries):
        line = header_lines[k] if k < len(header_lines) else 0
        at = f"{where}, line {line}" if line else where
        extra = set(entry) - _KEYS
        if extra:
            raise ChannelsFileError(f"{at}: unknown key {sorted(extra)[0]!r} "
                                    "(a [[channel]] has username and label)")
        username = entry.get("username")
        if not isinstance(username, str) or not username.strip():
            raise ChannelsFileError(f"{at}: [[channel]] needs username = \"...\"")
        name = normalize_username(username)
        if not USERNAME_RE.match(name):
            raise ChannelsFileError(
                f"{at}: {username!r} is not a Telegram username "
                "(4-32 letters, digits or underscores, starting with a letter)")
        label = entry.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ChannelsFileError(f"{at}: channel {name!r} needs label = \"...\"")
        if name in seen:
            raise ChannelsFileError(
                f"{at}: channel {name!r} is already listed at line {seen[name]}")
        seen[name] = line
        out.append(ChannelSpec(name, label.strip()))
    return tuple(out)
