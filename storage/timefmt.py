"""Times in the database: ISO 8601 UTC text, ``2024-03-12T05:17:00Z``.

One fixed width and format, so text order is time order in SQL and in any
SQLite tool.
"""

from datetime import UTC, datetime

_FMT = "%Y-%m-%dT%H:%M:%SZ"


def to_db(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: tgmon stores only aware (UTC) times")
    return dt.astimezone(UTC).strftime(_FMT)


def to_db_opt(dt: datetime | None) -> str | None:
    return None if dt is None else to_db(dt)


def from_db(s: str) -> datetime:
    if len(s) == 20 and s[10] == "T" and s[19] == "Z":
        return datetime.fromisoformat(s)      # ten times faster than strptime
    return datetime.strptime(s, _FMT).replace(tzinfo=UTC)


def from_db_opt(s: str | None) -> datetime | None:
    return None if s is None else from_db(s)


def from_unix(ts: int | float) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)
