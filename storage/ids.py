"""The one way to pass a list of ids to SQL: one parameter holding a JSON array,
unpacked by SQLite's ``json_each`` (``channel_id IN (SELECT value FROM json_each(?))``),
so a list of any length is one statement with one placeholder."""

from __future__ import annotations

import json
from collections.abc import Iterable

IN_IDS = "IN (SELECT value FROM json_each(?))"


def ids_json(ids: Iterable[int]) -> str:
    """The ids, once each and sorted, as the parameter of :data:`IN_IDS`."""
    return json.dumps(sorted({int(i) for i in ids}))
