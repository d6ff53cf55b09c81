"""``--channel`` of the commands that read the log (digest, export, stats): names or
ids resolved against the channels the log holds, with one error for one that is not
there."""

from __future__ import annotations

from collections.abc import Sequence

from config.errors import TgmonError
from storage.db import Database

SHOWN = 10              # known channels named in the error


class UnknownChannelError(TgmonError):
    pass


async def channel_ids(db: Database, refs: Sequence[str]) -> tuple[int, ...]:
    """The ids of the channels ``refs`` name (``@username``, ``username``, a t.me link
    or an id), once each, in order. Raises :class:`UnknownChannelError` for the first
    the log does not hold, naming the channels it does."""
    from storage.channels import find_channel, list_channels

    ids = []
    for ref in refs:
        found = await find_channel(db, ref)
        if found is None:
            known = [f"@{c.username}" if c.username else str(c.channel_id)
                     for c in await list_channels(db)]
            hint = (f"known channels: {', '.join(known[:SHOWN])}"
                    + (", ..." if len(known) > SHOWN else "")) if known else \
                "the log has no channels yet"
            raise UnknownChannelError(f"unknown channel {ref!r}: it is not in the log ({hint})")
        ids.append(found.channel_id)
    return tuple(dict.fromkeys(ids))
