"""Story de-duplication: which recent posts tell the same story as a new one.

Two posts are one story when

* one forwards the other, or both forward the same post;
* they come from different channels and their texts are near-duplicates: each text,
  normalised as rules read it (:mod:`storage.normalise`), folded (case, ё) and without
  links and @mentions, is cut into overlapping runs of
  three words ("shingles"); both have at least ``MIN_SHINGLES`` of them (about ten
  words: short generic texts such as "Срочно!" or "Видео" never count), at least
  ``CONTAINMENT`` of the shorter text's shingles occur in the longer one (a repost that
  adds a line of its own, or cuts the original's signature, still counts), and the
  shorter is at least ``LENGTH_RATIO`` of the longer (a one-line quote inside a long
  round-up is not the round-up's story);
* one is a member of an album without text of its own, and the other is a member of
  the same album (its caption, usually);
* they come from different channels and show the same photo: their perceptual hashes
  are within a few bits (:mod:`bot.media.phash`), so a picture re-posted, re-compressed
  or resized is recognised ("same photo").

Only posts dated within the window of each other are related. The index lives in memory;
the dispatcher rebuilds it from the log's last window at start. Pure: no clock, no I/O.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from bot.media.phash import PhotoIndex
from storage.normalise import normalise

SHINGLE = 3
MIN_SHINGLES = 8
CONTAINMENT = 0.6
LENGTH_RATIO = 0.25
K = TypeVar("K")

_LINK = re.compile(r"https?://\S+|\bt\.me/\S+|@\w+", re.IGNORECASE)
_WORD = re.compile(r"\w+")


def shingles(text: str) -> frozenset[int]:
    """The text's three-word shingles, hashed (an empty set for short texts)."""
    words = _WORD.findall(_LINK.sub(" ", normalise(text)).casefold().replace("ё", "е"))
    if len(words) < SHINGLE + MIN_SHINGLES - 1:
        return frozenset()
    return frozenset(hash(" ".join(words[i:i + SHINGLE]))
                     for i in range(len(words) - SHINGLE + 1))


def near_duplicates(a: frozenset[int], b: frozenset[int], shared: int | None = None) -> bool:
    """Whether two shingle sets are one story (``shared``: their overlap, if counted)."""
    small, big = sorted((len(a), len(b)))
    if small < MIN_SHINGLES or small < LENGTH_RATIO * big:
        return False
    return (len(a & b) if shared is None else shared) >= CONTAINMENT * small


@dataclass(frozen=True)
class StoryPost:
    """What the index keeps of a post."""

    post_id: int
    channel_id: int
    message_id: int
    date: datetime
    forward: tuple[int, int] | None         # (channel id, message id) it forwards
    grouped_id: int | None                  # album
    shingles: frozenset[int]
    has_text: bool
    photo: str | None = None                # perceptual hash of its photo, once stored


class StoryIndex:
    """Recent posts, by forward origin, album, shingle and photo."""

    def __init__(self, window: timedelta) -> None:
        self.window = window
        self._posts: dict[int, StoryPost] = {}
        self._by_message: dict[tuple[int, int], int] = {}
        self._forwards: dict[tuple[int, int], set[int]] = {}
        self._albums: dict[tuple[int, int], set[int]] = {}
        self._shingles: dict[int, set[int]] = {}
        self._photos: PhotoIndex[int] = PhotoIndex()
        self._by_date: list[tuple[datetime, int]] = []

    def __len__(self) -> int:
        return len(self._posts)

    def __contains__(self, post_id: object) -> bool:
        return post_id in self._posts

    def add(self, p: StoryPost) -> None:
        if p.post_id in self._posts:
            return
        self._posts[p.post_id] = p
        self._by_message[(p.channel_id, p.message_id)] = p.post_id
        if p.forward is not None:
            self._forwards.setdefault(p.forward, set()).add(p.post_id)
        if p.grouped_id is not None:
            self._albums.setdefault((p.channel_id, p.grouped_id), set()).add(p.post_id)
        for s in p.shingles:
            self._shingles.setdefault(s, set()).add(p.post_id)
        if p.photo is not None:
            self._photos.add(p.post_id, p.photo)
        heapq.heappush(self._by_date, (p.date, p.post_id))

    def expire(self, now: datetime) -> None:
        """Forget posts dated more than a window before ``now``."""
        cutoff = now - self.window
        while self._by_date and self._by_date[0][0] < cutoff:
            _, post_id = heapq.heappop(self._by_date)
            self._remove(post_id)

    def _remove(self, post_id: int) -> None:
        p = self._posts.pop(post_id, None)
        if p is None:
            return
        self._by_message.pop((p.channel_id, p.message_id), None)
        if p.forward is not None:
            _discard(self._forwards, p.forward, post_id)
        if p.grouped_id is not None:
            _discard(self._albums, (p.channel_id, p.grouped_id), post_id)
        for s in p.shingles:
            _discard(self._shingles, s, post_id)
        self._photos.remove(post_id)

    def related(self, p: StoryPost) -> dict[int, str]:
        """Other posts of ``p``'s story in the index: post id -> how ("forward", "text",
        "album", "photo")."""
        found: dict[int, str] = {}
        if p.forward is not None:
            origin = self._by_message.get(p.forward)
            if origin is not None:
                found[origin] = "forward"
            for other in self._forwards.get(p.forward, ()):
                found[other] = "forward"
        for other in self._forwards.get((p.channel_id, p.message_id), ()):
            found[other] = "forward"
        if p.grouped_id is not None and not p.has_text:
            for other in self._albums.get((p.channel_id, p.grouped_id), ()):
                found.setdefault(other, "album")
        if len(p.shingles) >= MIN_SHINGLES:
            counts: Counter[int] = Counter()
            for s in p.shingles:
                counts.update(self._shingles.get(s, ()))
            for other, shared in counts.items():
                q = self._posts[other]
                if q.channel_id != p.channel_id and near_duplicates(p.shingles, q.shingles,
                                                                    shared):
                    found.setdefault(other, "text")
        if p.photo is not None:
            for other in self._photos.similar(p.photo):
                if self._posts[other].channel_id != p.channel_id:
                    found.setdefault(other, "photo")
        found.pop(p.post_id, None)
        return {other: how for other, how in found.items()
                if abs(self._posts[other].date - p.date) <= self.window}


def _discard(index: dict[K, set[int]], key: K, post_id: int) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(post_id)
        if not members:
            del index[key]
