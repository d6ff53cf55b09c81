"""Shared fixtures: a real SQLite file under tmp_path, a fixed clock, the simulated
Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from simkit import Sim

from storage.db import Database, open_database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(tmp_path / "tgmon.db")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def t0() -> datetime:
    return datetime(2024, 3, 12, 5, 0, tzinfo=UTC)


@pytest.fixture
def sim(tmp_path: Path) -> Sim:
    """The simulated Telegram, on a virtual clock starting at 12 March 2024 05:00 UTC
    (see tests/simkit.py)."""
    return Sim(tmp_path)


@pytest.fixture
def fresh_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No TGMON_* variables and no .env (the working directory is tmp_path): the CLI as
    on a fresh machine."""
    import os

    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path
