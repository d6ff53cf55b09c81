"""Perceptual hashes of photos (ImageHash's pHash: the low frequencies of the picture's
cosine transform), and finding the same picture again after it was re-posted,
re-compressed or resized by another channel.

Two photos are the same picture when their 64-bit hashes differ in at most
:data:`SAME_PHOTO_BITS` bits. :class:`PhotoIndex` finds such neighbours without
comparing every pair: split into eight bytes, two hashes that differ in at most seven
bits share at least one byte in the same place (pigeonhole), so only photos sharing a
byte with the new one are compared.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

from storage.mediastore import photo_hash

__all__ = ["SAME_PHOTO_BITS", "PhotoIndex", "distance", "groups", "photo_hash", "same_photo"]

SAME_PHOTO_BITS = 6             # of 64; re-compressed or resized copies differ by 0-4
K = TypeVar("K", bound=Hashable)


def distance(a: str, b: str) -> int:
    """Bits in which two hashes differ."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def same_photo(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and distance(a, b) <= SAME_PHOTO_BITS


class PhotoIndex(Generic[K]):
    """Photos by perceptual hash, for finding the same picture among many."""

    def __init__(self) -> None:
        self._hashes: dict[K, int] = {}
        self._buckets: dict[tuple[int, int], set[K]] = {}

    def __len__(self) -> int:
        return len(self._hashes)

    @staticmethod
    def _bytes(value: int) -> Iterable[tuple[int, int]]:
        return ((i, (value >> (8 * i)) & 0xFF) for i in range(8))

    def add(self, key: K, phash: str) -> None:
        if key in self._hashes:
            return
        value = int(phash, 16)
        self._hashes[key] = value
        for bucket in self._bytes(value):
            self._buckets.setdefault(bucket, set()).add(key)

    def remove(self, key: K) -> None:
        value = self._hashes.pop(key, None)
        if value is None:
            return
        for bucket in self._bytes(value):
            members = self._buckets.get(bucket)
            if members is not None:
                members.discard(key)
                if not members:
                    del self._buckets[bucket]

    def similar(self, phash: str) -> list[K]:
        """Keys of the photos within :data:`SAME_PHOTO_BITS` of ``phash``."""
        value = int(phash, 16)
        seen: set[K] = set()
        for bucket in self._bytes(value):
            seen |= self._buckets.get(bucket, set())
        return [k for k in seen if (self._hashes[k] ^ value).bit_count() <= SAME_PHOTO_BITS]


def groups(photos: Iterable[tuple[K, str]]) -> list[list[K]]:
    """The photos that are the same picture, in groups of two or more (linked through
    any member: a chain of near copies is one group), in the order first seen."""
    index: PhotoIndex[K] = PhotoIndex()
    parent: dict[K, K] = {}

    def root(k: K) -> K:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    order: dict[K, int] = {}            # first seen, in order
    for key, phash in photos:
        if key in parent:
            continue
        parent[key] = key
        order[key] = len(order)
        for other in index.similar(phash):
            a, b = root(key), root(other)
            if a != b:                  # the group is named after its first photo
                if order[a] < order[b]:
                    parent[b] = a
                else:
                    parent[a] = b
        index.add(key, phash)
    members: dict[K, list[K]] = {}
    for key in order:
        members.setdefault(root(key), []).append(key)
    return [g for g in members.values() if len(g) > 1]
