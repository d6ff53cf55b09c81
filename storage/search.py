"""Reading the log by period, for searches that look at every post (rule tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from storage.db import Database
from storage.models import StoredPost
from storage.posts import POST_SELECT, stored_post_from_row
from storage.timefmt import to_db


async def posts_between(db: Database, since: datetime, until: datetime,
                        batch: int = 200) -> AsyncIterator[StoredPost]:
    """Posts dated ``since <= date < until``, newest first, tombstoned ones included.

    Streams in batches (memory stays flat); ``posts_by_date`` serves the range and the
    order (ties by row id, i.e. capture order)."""
    sql = (f"{POST_SELECT} WHERE p.date >= ? AND p.date < ? "
           "ORDER BY p.date DESC, p.id DESC")
    async for row in db.stream(sql, (to_db(since), to_db(until)), batch=batch):
        yield stored_post_from_row(row)
