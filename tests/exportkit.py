"""Telegram Desktop exports for tests: the project's own small ones (tests/fixtures/
desktop, made for tgmon, fictitious content) and the real ones of ``../shared``.

Nothing here reads a file at import time. A test that needs a file of ``../shared``
asks :func:`shared` for it and is skipped, saying which file is missing, when the
clone has no ``../shared`` beside it (``.ci/run`` sets ``TGMON_REQUIRE_SHARED=1`` when
it does, so that a test can never skip quietly in CI).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"              # as CI has it: beside the clone

OWN = Path(__file__).resolve().parent / "fixtures" / "desktop"
CHANNEL = OWN / "channel_export.json"        # one channel, every kind of message
CHANNEL_MORE = OWN / "channel_export_more.json"   # the same channel, later posts
PERSONAL = OWN / "personal_chat_older_format.json"  # not a channel; dates without unixtime
CID = 1900000042                              # the channel's id in both files
USERNAME = "tgmon_fixture"

DESKTOP = "fixtures/telegram-desktop-export"
NEWS = "data/ru-news-posts-2024/posts.jsonl"


def shared(relative: str) -> Path:
    """``../shared/<relative>``, or skip the calling test saying what is missing."""
    path = SHARED / relative
    if not path.exists():
        reason = (f"needs ../shared/{relative} (not found at {path}): clone tgmon with the "
                  "shared fixtures and data beside it")
        if os.environ.get("TGMON_REQUIRE_SHARED"):
            pytest.fail(reason + " (TGMON_REQUIRE_SHARED is set)")
        pytest.skip(reason)
    return path


def shared_export(name: str) -> Path:
    """A real export of ``../shared/fixtures/telegram-desktop-export``."""
    return shared(f"{DESKTOP}/{name}")


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def plain_text(raw: dict[str, Any]) -> str:
    """A message's text as Telegram Desktop wrote it, the entities joined in."""
    parts = raw["text"] if isinstance(raw["text"], list) else [raw["text"]]
    return "".join(p if isinstance(p, str) else p["text"] for p in parts)


def texts_of(paths: Iterable[Path]) -> dict[int, str]:
    """``{message id: text}`` of every post (not service) of the files."""
    texts = {}
    for path in paths:
        for m in load(path)["messages"]:
            if m["type"] == "message":
                texts[m["id"]] = plain_text(m)
    return texts
