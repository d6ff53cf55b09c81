"""Reading the log by period, for searches that look at every post (rule tests)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from typing import cast

from storage.db import Database
from storage.models import StoredPost
from storage.posts import POST_SELECT, stored_post_from_row
from storage.timefmt import to_db


async def posts_between(db: Database, since: datetime, until: datetime,
                        batch: int = 200) -> AsyncGenerator[StoredPost, None]:
    """Posts dated ``since <= date < until``, newest first, tombstoned ones included.

    Streams in batches (memory stays flat); ``posts_by_date`` serves the range and the
    order (ties by row id, i.e. capture order)."""
    sql = (f"{POST_SELECT} WHERE p.date >= ? AND p.date < ? "
           "ORDER BY p.date DESC, p.id DESC")
    # aclosing: a reader that stops early closes the cursor before the database closes.
    stream = db.stream(sql, (to_db(since), to_db(until)), batch=batch)
    async with aclosing(cast(AsyncGenerator[sqlite3.Row, None], stream)) as rows:
        async for row in rows:
            yield stored_post_from_row(row)
