"""Shared fixtures: a real SQLite file under tmp_path, a fixed clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.db import Database, open_database

# The shared facts sit next to the checkout (/work/main -> /work/shared); a worktree
# is one level deeper (/work/wt/NAME), so look upwards.
SHARED = next((d / "shared" for d in Path(__file__).resolve().parents[1:]
               if (d / "shared").is_dir()), Path(__file__).resolve().parents[2] / "shared")


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
