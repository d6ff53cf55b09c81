"""The channels a post links (``t.me/NAME``, ``t.me/c/ID``) or @mentions, found when the
post is stored and filed in ``post_links`` (migration post_details), for the forward
network (:mod:`storage.network`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence

import aiosqlite

from storage.models import Post

# t.me/NAME, t.me/s/NAME, t.me/c/ID, telegram.me/NAME (not invites, not t.me/+..., not
# joinchat, not addstickers...).
_TME = re.compile(
    r"(?:[tT]|[tT][eE][lL][eE][gG][rR][aA][mM])\.[mM][eE]/(?:[sS]/)?"
    r"(c/(\d+)|[A-Za-z][A-Za-z0-9_]{3,31})\b")
_NOT_CHANNELS = frozenset({"joinchat", "addstickers", "addemoji", "share", "proxy", "socks",
                           "setlanguage", "iv", "contact", "addlist", "boost", "login",
                           "confirmphone", "addtheme", "bg", "invoice"})
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z][A-Za-z0-9_]{3,31})\b")


def _has_link(text: str) -> bool:
    return ".me/" in text or ".ME/" in text or ".Me/" in text


def targets(text: str, urls: Sequence[str], mentions: bool) -> Iterator[tuple[str, str | int]]:
    """``(kind, target)`` of each link and mention in a post (``urls``: its text links'
    URLs; ``mentions``: Telegram marked a mention in it): ``target`` is a channel id
    (``t.me/c/ID``) or a lower-case username. Mentions are read only where Telegram
    marked one: an @ in an e-mail address is none."""
    for chunk in ([text] if _has_link(text) else []) + [u for u in urls if _has_link(u)]:
        for m in _TME.finditer(chunk):
            if m.group(2):
                yield "link", int(m.group(2))
            else:
                name = m.group(1).lower()
                if name not in _NOT_CHANNELS:
                    yield "link", name
    if mentions:
        for m in _MENTION.finditer(text):
            yield "mention", m.group(1).lower()


def targets_in(text: str, entities_raw: str | None) -> Iterator[tuple[str, str | int]]:
    """:func:`targets` of a post as the log holds it (entities as JSON text)."""
    urls: list[str] = []
    mentions = False
    if entities_raw and (".me/" in entities_raw or '"mention"' in entities_raw):
        entities = json.loads(entities_raw)
        urls = [e["url"] for e in entities if e.get("url")]
        mentions = any(e.get("type") == "mention" for e in entities)
    return targets(text, urls, mentions)


def link_rows(post: Post) -> set[tuple[str, str]]:
    """The ``post_links`` rows of a post: ``target`` is ``id:ID`` or a username (any
    username: which ones are channels is decided when the network is built)."""
    urls = [e.url for e in post.entities if e.url]
    mentions = any(e.type == "mention" for e in post.entities)
    if not _has_link(post.text) and not mentions and not any(map(_has_link, urls)):
        return set()
    return {(kind, f"id:{t}" if isinstance(t, int) else t)
            for kind, t in targets(post.text, urls, mentions)}


async def store_links(conn: aiosqlite.Connection, posts: Sequence[Post]) -> None:
    """File the links and mentions of stored posts (inside the caller's transaction,
    after the posts). A new version adds its own; none is ever removed."""
    rows = [(kind, target, p.channel_id, p.message_id)
            for p in posts for kind, target in link_rows(p)]
    if rows:
        await conn.executemany(
            "INSERT OR IGNORE INTO post_links (post_id, kind, target) "
            "SELECT id, ?, ? FROM posts WHERE channel_id = ? AND message_id = ?", rows)
