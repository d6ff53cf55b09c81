"""The word index's storage (migration 0013): tokens, pending posts, the vocabulary and
the candidate queries. What a word is, and what a rule asks, is decided by
``bot.rules.postwords``; this module only stores and finds strings.

A post is filed in ``post_words`` under one token per word: the month of the post's
date (3 characters, so a search reads only the months of its period) and the word,
escaped so that FTS5's ``ascii`` tokenizer keeps it whole and distinct: ASCII letters
and digits stay, as does every non-ASCII character but ``·``; anything else (capitals,
punctuation, ``·``) is written ``·`` and two hex digits. The escape is a prefix code,
so a prefix of a word is a prefix of its token (``word*`` rules search by prefix).

Functions taking a ``sqlite3.Connection`` run on the database thread
(:meth:`storage.db.Database.run`); writers run inside the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from storage.timefmt import to_db

ESCAPE = "\u00b7"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
# ASCII but lowercase letters and digits, and the escape itself: written as two hex digits.
_ESCAPES = str.maketrans({ch: f"{ESCAPE}{ord(ch):02x}" for ch in
                          [*map(chr, range(128)), ESCAPE] if ch not in _DIGITS})


@lru_cache(maxsize=200_000)
def token(text: str) -> str:
    """``text`` as characters FTS5's ascii tokenizer keeps in one token, losslessly."""
    return text.translate(_ESCAPES)


def month_bucket(year: int, month: int) -> str:
    n = year * 12 + month - 1
    return _DIGITS[n // 1296 % 36] + _DIGITS[n // 36 % 36] + _DIGITS[n % 36]


def bucket_of(date: str) -> str:
    """The bucket of a post's date as stored ('2024-03-12T05:17:00Z')."""
    return month_bucket(int(date[:4]), int(date[5:7]))


def buckets(conn: sqlite3.Connection, since: datetime, until: datetime) -> list[str]:
    """The buckets of every month that overlaps ``[since, until)`` and holds posts,
    newest first (the dates of the log bound them: a period may reach year 1)."""
    # Two queries: SQLite reads min() or max() alone from the end of the date index, but
    # scans the whole index for both in one SELECT.
    first = conn.execute("SELECT min(date) FROM posts").fetchone()[0]
    last = conn.execute("SELECT max(date) FROM posts").fetchone()[0]
    if first is None:
        return []
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    lo = max((since.year, since.month), (int(first[:4]), int(first[5:7])))
    hi = min((until.year, until.month), (int(last[:4]), int(last[5:7])))
    y, m = lo
    out = []
    while (y, m) <= hi:
        out.append(month_bucket(y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out[::-1]


def post_tokens(bucket: str, groups: Iterable[tuple[str, Iterable[str]]]) -> str:
    """The tokens of a post of month ``bucket`` filed under ``letter + name`` for each
    ``(letter, names)`` (a letter is a lowercase ASCII letter: its own token). Any order:
    the index keeps a set per post, and deleting needs the same set."""
    parts = []
    for letter, names in groups:
        prefix = bucket + letter
        tokens = (" " + prefix).join(map(token, names))
        if tokens:
            parts.append(prefix + tokens)
    return " ".join(parts)


# ---- state and pending posts --------------------------------------------------------------

def index_version(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT version FROM word_index_state WHERE id = 1").fetchone()
    return row[0] if row else None


def pending_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM words_pending").fetchone()[0])


def reset(conn: sqlite3.Connection, version: str) -> None:
    """Empty the index and queue every post, for an analysis of ``version``."""
    conn.execute("INSERT INTO post_words (post_words) VALUES ('delete-all')")
    conn.execute("INSERT INTO index_word_keys (index_word_keys) VALUES ('delete-all')")
    conn.execute("DELETE FROM index_words")
    conn.execute("DELETE FROM words_pending")
    conn.execute("INSERT INTO words_pending (post_id) SELECT id FROM posts")
    conn.execute("UPDATE word_index_state SET version = ? WHERE id = 1", (version,))


@dataclass(frozen=True)
class PendingPost:
    post_id: int
    version: int                    # the version read (its text is ``text``)
    indexed_version: int | None     # the version the index holds words of, if any
    bucket: str
    channel_id: int
    text: str
    indexed_text: str | None        # the text of indexed_version


def pending_batch(conn: sqlite3.Connection, after: int, limit: int) -> list[PendingPost]:
    """Pending posts with ids above ``after``, in id order."""
    rows = conn.execute(
        "SELECT w.post_id, p.version, w.indexed_version, p.date, p.channel_id, p.text, "
        "  (SELECT s.text FROM stored_versions s WHERE s.post_id = w.post_id "
        "   AND s.version = w.indexed_version) "
        "FROM words_pending w JOIN posts p ON p.id = w.post_id "
        "WHERE w.post_id > ? ORDER BY w.post_id LIMIT ?", (after, limit)).fetchall()
    return [PendingPost(r[0], r[1], r[2], bucket_of(r[3]), r[4], r[5], r[6]) for r in rows]


@dataclass(frozen=True)
class IndexedPost:
    """What the indexer worked out for a pending post."""

    pending: PendingPost
    tokens: str                     # the post's tokens now
    old_tokens: str | None          # the tokens the index holds for indexed_version


def write_batch(conn: sqlite3.Connection, done: Sequence[IndexedPost],
                vocabulary: Mapping[str, tuple[str, ...]]) -> int:
    """File the posts (inside the caller's transaction) and add new words to the
    vocabulary. A post edited, or indexed by someone else, since it was read is left
    for the next batch. Returns how many posts were filed."""
    ids = json.dumps([d.pending.post_id for d in done])
    still = {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT w.post_id, w.indexed_version, p.version FROM words_pending w "
        "JOIN posts p ON p.id = w.post_id WHERE w.post_id IN (SELECT value FROM json_each(?))",
        (ids,))}
    ready = [d for d in done
             if still.get(d.pending.post_id) == (d.pending.indexed_version, d.pending.version)]
    if vocabulary:
        added = conn.execute(
            "INSERT OR IGNORE INTO index_words (word, keys) "
            "SELECT value ->> 0, value ->> 1 FROM json_each(?) RETURNING id, keys",
            (json.dumps([[w, " ".join(k)] for w, k in vocabulary.items()],
                        ensure_ascii=False),)).fetchall()
        conn.executemany("INSERT INTO index_word_keys (rowid, keys) VALUES (?, ?)",
                         [(i, " ".join(token(k) for k in keys.split(" "))) for i, keys in added])
    conn.executemany("INSERT INTO post_words (post_words, rowid, words) VALUES ('delete', ?, ?)",
                     [(d.pending.post_id, d.old_tokens) for d in ready if d.old_tokens])
    conn.executemany("INSERT INTO post_words (rowid, words) VALUES (?, ?)",
                     [(d.pending.post_id, d.tokens) for d in ready])
    conn.execute("DELETE FROM words_pending WHERE post_id IN (SELECT value FROM json_each(?))",
                 (json.dumps([d.pending.post_id for d in ready]),))
    return len(ready)


def optimize(conn: sqlite3.Connection) -> None:
    """Merge the index into one segment (smallest, fastest), after a big build."""
    conn.execute("INSERT INTO post_words (post_words) VALUES ('optimize')")
    conn.execute("INSERT INTO index_word_keys (index_word_keys) VALUES ('optimize')")


# ---- the vocabulary -----------------------------------------------------------------------

def known_keys(conn: sqlite3.Connection, words: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The keys of those ``words`` the vocabulary has."""
    if not words:
        return {}
    rows = conn.execute(
        "SELECT word, keys FROM index_words WHERE word IN (SELECT value FROM json_each(?))",
        (json.dumps(list(words), ensure_ascii=False),)).fetchall()
    return {w: tuple(map(sys.intern, k.split(" "))) for w, k in rows}


def words_with_keys(conn: sqlite3.Connection, keys: Iterable[str]) -> list[str]:
    """Every word of the vocabulary that has one of ``keys``."""
    terms = sorted({f'"{token(k)}"' for k in keys})
    if not terms:
        return []
    rows = conn.execute(
        "SELECT w.word FROM index_word_keys f JOIN index_words w ON w.id = f.rowid "
        "WHERE index_word_keys MATCH ?", (" OR ".join(terms),)).fetchall()
    return sorted(r[0] for r in rows)


def words_containing(conn: sqlite3.Connection, piece: str, limit: int) -> list[str] | None:
    """Every word of the vocabulary whose form (after its languages letter) contains
    ``piece``; None when there are more than ``limit`` (too many to search for)."""
    rows = conn.execute("SELECT word FROM index_words WHERE instr(substr(word, 2), ?) > 0 "
                        "LIMIT ?", (piece, limit + 1)).fetchall()
    return None if len(rows) > limit else [r[0] for r in rows]


def channels_named(conn: sqlite3.Connection, username: str) -> list[int]:
    """Ids of the channels whose username is now ``username`` (any case)."""
    return [r[0] for r in conn.execute(
        "SELECT channel_id FROM channels WHERE lower(username) = ?", (username.lower(),))]


# ---- candidates ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    post_id: int
    date: str
    deleted: bool
    pending: bool                   # not (or not currently) in the index: check it


def _window(channel_ids: Sequence[int] | None) -> tuple[str, list[object]]:
    sql = "p.date >= ? AND p.date < ?"
    if channel_ids is None:
        return sql, []
    return sql + " AND p.channel_id IN (SELECT value FROM json_each(?))", [
        json.dumps(sorted(set(channel_ids)))]


def indexed_posts(conn: sqlite3.Connection, match: str, since: datetime, until: datetime,
                  channel_ids: Sequence[int] | None = None) -> list[int]:
    """Ids of the posts of the period the index files under ``match`` (an FTS5
    expression over tokens)."""
    found = {r[0] for r in conn.execute(
        "SELECT rowid FROM post_words WHERE post_words MATCH ?", (match,))}
    if len(found) > _FEW:
        # many: the period's ids from the date index, not each post's row
        return [pid for pid in window_ids(conn, since, until, channel_ids) if pid in found]
    where, extra = _window(channel_ids)
    return [r[0] for r in conn.execute(
        f"SELECT p.id FROM posts p WHERE p.id IN (SELECT value FROM json_each(?)) AND {where}",
        [_ids_json(found), to_db(since), to_db(until), *extra])]


_FEW = 2_000        # posts looked up one by one rather than the period's ids read


def candidates(conn: sqlite3.Connection, ids: Iterable[int], since: datetime, until: datetime,
               channel_ids: Sequence[int] | None = None) -> list[Candidate]:
    """The posts ``ids`` that are not waiting to be (re-)indexed, and every pending post
    of the period, newest first."""
    where, extra = _window(channel_ids)
    out = [Candidate(r[0], r[1], bool(r[2]), False) for r in conn.execute(
        "SELECT p.id, p.date, p.deleted_at IS NOT NULL FROM posts p "
        "WHERE p.id IN (SELECT value FROM json_each(?)) "
        "AND NOT EXISTS (SELECT 1 FROM words_pending w WHERE w.post_id = p.id)",
        (_ids_json(ids),))]
    out += [Candidate(r[0], r[1], bool(r[2]), True) for r in conn.execute(
        "SELECT p.id, p.date, p.deleted_at IS NOT NULL FROM words_pending w "
        f"JOIN posts p ON p.id = w.post_id WHERE {where}", [to_db(since), to_db(until), *extra])]
    out.sort(key=lambda c: (c.date, c.post_id), reverse=True)
    return out


def texts(conn: sqlite3.Connection, ids: Iterable[int]) -> Iterator[tuple[int, str]]:
    """``(id, text)`` of the posts ``ids``, streamed."""
    yield from conn.execute("SELECT id, text FROM posts WHERE id IN (SELECT value FROM "
                            "json_each(?))", (_ids_json(ids),))


def _ids_json(ids: Iterable[int]) -> str:
    return f"[{','.join(map(str, ids))}]"


def window_candidates(conn: sqlite3.Connection, since: datetime, until: datetime,
                      channel_ids: Sequence[int] | None, before: tuple[str, int] | None,
                      limit: int) -> list[Candidate]:
    """Every post of the period (all to be checked), newest first, ``limit`` at a time
    below ``before`` (date, id): the search without the index."""
    where, extra = _window(channel_ids)
    params: list[object] = [to_db(since), to_db(until), *extra]
    if before is not None:
        where += " AND (p.date, p.id) < (?, ?)"
        params += list(before)
    return [Candidate(r[0], r[1], bool(r[2]), True) for r in conn.execute(
        f"SELECT p.id, p.date, p.deleted_at IS NOT NULL FROM posts p WHERE {where} "
        "ORDER BY p.date DESC, p.id DESC LIMIT ?", [*params, limit])]


def blobs(conn: sqlite3.Connection, ids: Iterable[int]) -> Iterator[tuple[int, bytes]]:
    """``(id, text as UTF-8)`` of the posts ``ids``, streamed (bytes: what RE2 reads, and
    half the cost of reading text)."""
    yield from conn.execute("SELECT id, CAST(text AS BLOB) FROM posts WHERE id IN "
                            "(SELECT value FROM json_each(?))", (_ids_json(ids),))


def window_blobs(conn: sqlite3.Connection, since: datetime, until: datetime,
                 channel_ids: Sequence[int] | None = None) -> Iterator[tuple[int, bytes]]:
    """``(id, text as UTF-8)`` of every post of the period, streamed."""
    where, extra = _window(channel_ids)
    yield from conn.execute(f"SELECT p.id, CAST(p.text AS BLOB) FROM posts p WHERE {where}",
                            [to_db(since), to_db(until), *extra])


def window_ids(conn: sqlite3.Connection, since: datetime, until: datetime,
               channel_ids: Sequence[int] | None = None) -> Iterator[int]:
    """Ids of every post of the period, streamed."""
    where, extra = _window(channel_ids)
    for row in conn.execute(f"SELECT p.id FROM posts p WHERE {where}",
                            [to_db(since), to_db(until), *extra]):
        yield row[0]


def count_window(conn: sqlite3.Connection, since: datetime, until: datetime,
                 channel_ids: Sequence[int] | None = None) -> int:
    where, extra = _window(channel_ids)
    return int(conn.execute(f"SELECT count(*) FROM posts p WHERE {where}",
                            [to_db(since), to_db(until), *extra]).fetchone()[0])
