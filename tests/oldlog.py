"""A log written by the schema and the upsert of before migration 0011 (each version's
text stored twice, stats recomputed, no word index), to test the migrations on: the
schema of main before issue 16 (9: the search index holds the text with ё as е) or
after it (10: the search index holds the normalised text)."""

from __future__ import annotations

import random
import re
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from storage.db import migrations
from storage.models import CapturePath, Entity, Media, Post
from storage.normalise import SEARCH_FUNCTION, search_text, search_version
from storage.posts import UPSERT_SQL, post_row
from storage.timefmt import to_db

OLD_SCHEMAS = (9, 10)       # before and after migration 0010 (the normalised search index)
# Today's upsert minus what migration 0011 added (posts.version_seen_at).
OLD_UPSERT = re.sub(r"version_seen_at = CASE .*? END, ", "", UPSERT_SQL)
assert OLD_UPSERT != UPSERT_SQL and "version_seen_at" not in OLD_UPSERT

# Disguised words too (a soft hyphen, a Latin о, a stress mark): the normalised search
# index must hold them as their plain words after every migration.
WORDS = ("Курск", "Белгород", "обстрел", "ПВО", "Тёткино", "колонна", "сводка", "дрон",
         "Kursk", "граница", "#сводка", "эвакуация", "2024", "м'ясо", "Харків",
         "Шебе\u00adкино", "Пoкровск", "Гра\u0301йворон")


def create_old_schema(path: Path, schema: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    # what storage.db registers on every connection (migration 0010 calls them)
    conn.create_function(SEARCH_FUNCTION, 1, search_text, deterministic=True)
    conn.create_function("tgmon_search_version", 0, search_version)
    for version, _name, sql in migrations()[:schema]:
        conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
    return conn


def _store(conn: sqlite3.Connection, posts: list[Post], via: CapturePath, at: datetime,
           schema: int) -> None:
    conn.execute("BEGIN")
    conn.executemany(OLD_UPSERT, [post_row(p, via, at) for p in posts])
    indexed = ("replace(replace(p.text, 'ё', 'е'), 'Ё', 'Е')" if schema < 10
               else f"{SEARCH_FUNCTION}(p.text)")
    conn.execute(f"INSERT INTO posts_fts (rowid, text) SELECT p.id, {indexed} "
                 "FROM fts_pending q JOIN posts p ON p.id = q.post_id")
    conn.execute("DELETE FROM fts_pending")
    conn.execute("COMMIT")


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(0, 12)))


def write_old_log(path: Path, start: datetime, channels: int = 3, per_channel: int = 120,
                  seed: int = 9, schema: int = OLD_SCHEMAS[-1]) -> sqlite3.Connection:
    """Posts with holes, service ids, edits of text, media and formatting only, stale
    copies and deletions, written as tgmon wrote them at ``schema`` (before 0011)."""
    rng = random.Random(seed)
    conn = create_old_schema(path, schema)
    seen = to_db(start)
    for c in range(channels):
        cid = 5000 + c
        conn.execute("INSERT INTO channels (channel_id, username, title, first_seen, updated_at)"
                     " VALUES (?, ?, ?, ?, ?)", (cid, f"chan{c}" if c else None, f"К{c}", seen,
                                                 seen))
        posts = []
        mid = 0
        for i in range(per_channel):
            mid += 1 if rng.random() > 0.05 else rng.randrange(2, 6)   # holes
            if rng.random() < 0.03:
                conn.execute("INSERT INTO absent_messages VALUES (?, ?, 'service', ?)",
                             (cid, mid, seen))
                continue
            media = Media("photo", size=1000 + i) if rng.random() < 0.2 else None
            posts.append(Post(cid, mid, start + timedelta(minutes=37 * i + c), _text(rng),
                              entities=(Entity("bold", 0, 3),) if rng.random() < 0.3 else (),
                              views=rng.randrange(10, 1000), media=media))
        vias = list(CapturePath)
        for k in range(0, len(posts), 40):
            _store(conn, posts[k:k + 40], vias[k // 40 % len(vias)], start + timedelta(hours=k),
                   schema)
        later = start + timedelta(days=2)
        for step in range(3):
            at = later + timedelta(hours=step)
            edited = []
            for p in rng.sample(posts, len(posts) // 6):
                kind = rng.randrange(4)
                edit = at + timedelta(minutes=1)
                if kind == 0:      # the text changes: a new version
                    edited.append(replace(p, text=p.text + " " + _text(rng), edit_date=edit))
                elif kind == 1:    # formatting only: entities and edit date, same version
                    edited.append(replace(p, entities=(Entity("italic", 0, 2),), edit_date=edit))
                elif kind == 2:    # the media changes
                    edited.append(replace(p, media=Media("video", size=rng.randrange(10**6)),
                                          edit_date=edit))
                else:              # a stale copy (older edit date): changes nothing
                    edited.append(replace(p, text="устаревшая копия",
                                          edit_date=start - timedelta(days=1)))
            _store(conn, edited, CapturePath.CATCH_UP, at, schema)
            posts = [next((e for e in edited if e.message_id == p.message_id
                           and e.edit_date and e.edit_date > start), p) for p in posts]
        gone = rng.sample(posts, len(posts) // 20)
        when = to_db(later + timedelta(days=1))
        conn.executemany("UPDATE posts SET deleted_at = ? WHERE channel_id = ? AND message_id = ?",
                         [(when, cid, p.message_id) for p in gone])
        conn.execute("INSERT INTO absent_messages VALUES (?, ?, 'deleted', ?)",
                     (cid, mid + 3, when))
    return conn


def version_rows(conn: sqlite3.Connection) -> list[tuple]:
    """Every row of post_versions with its post's channel and message id, in order."""
    return conn.execute(
        "SELECT p.channel_id, p.message_id, v.version, v.text, v.entities, v.media_kind, "
        "v.media_file_name, v.media_size, v.media_mime_type, v.edit_date, v.seen_at "
        "FROM post_versions v JOIN posts p ON p.id = v.post_id "
        "ORDER BY p.channel_id, p.message_id, v.version").fetchall()
