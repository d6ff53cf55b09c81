"""Downloading a post's file from Telegram, a part at a time, and reading its message
again for a fresh file reference.

``upload.getFile`` takes a location (:class:`storage.models.FileRef`), an offset and a
limit. Parts here are :data:`PART` bytes at offsets that are multiples of it, which keeps
Telegram's rules (offset and limit divisible by 4096, 1 MB divisible by the limit, no
part crossing a 1 MB boundary); a part shorter than asked ends the file. A file on
another data centre is fetched through a sender Telethon borrows for that DC, as its own
downloads do. Errors are raised as they come; :func:`bot.telegram.errors.classify` tells
the downloader what each asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telethon import errors
from telethon.tl import functions, types

from bot.telegram.records import is_post, media_from_tl
from storage.models import FileRef

PART = 512 * 1024
BOUNDARY = 1 << 20


def check_part(offset: int, limit: int) -> None:
    """Refuse a part Telegram would refuse (LIMIT_INVALID, OFFSET_INVALID)."""
    if offset % 4096 or limit % 4096 or limit <= 0 or BOUNDARY % limit \
            or offset // BOUNDARY != (offset + limit - 1) // BOUNDARY:
        raise ValueError(f"upload.getFile part at {offset} of {limit} bytes breaks "
                         "Telegram's rules on parts")


def input_location(ref: FileRef) -> Any:
    if ref.type == "photo":
        return types.InputPhotoFileLocation(ref.id, ref.access_hash, ref.file_reference,
                                            ref.thumb_size)
    return types.InputDocumentFileLocation(ref.id, ref.access_hash, ref.file_reference, "")


class PartFetcher:
    """Fetches the parts of one file on one client (borrowing a sender for another DC
    when the file lives there)."""

    def __init__(self, client: Any, ref: FileRef) -> None:
        self.client = client
        self.ref = ref
        self._sender: Any = None
        self._dc = ref.dc_id if ref.dc_id and ref.dc_id != self._home_dc() else None

    def _home_dc(self) -> int | None:
        session = getattr(self.client, "session", None)
        return getattr(session, "dc_id", None)

    async def __call__(self, offset: int, limit: int = PART) -> bytes:
        check_part(offset, limit)
        request = functions.upload.GetFileRequest(input_location(self.ref), offset, limit)
        try:
            result = await self._send(request)
        except errors.FileMigrateError as e:
            await self.close()
            self._dc = e.new_dc
            result = await self._send(request)
        if not isinstance(result, types.upload.File):
            raise errors.RPCError(request, f"unexpected answer {type(result).__name__}")
        return bytes(result.bytes)

    async def _send(self, request: Any) -> Any:
        if self._dc is None:
            return await self.client(request)
        if self._sender is None:
            self._sender = await self.client._borrow_exported_sender(self._dc)
        return await self.client._call(self._sender, request)

    async def close(self) -> None:
        if self._sender is not None:
            sender, self._sender = self._sender, None
            await self.client._return_exported_sender(sender)


@dataclass(frozen=True)
class Reread:
    """What reading a post again says about one of its files."""

    ref: FileRef | None = None      # the same file, with a fresh reference
    gone: bool = False              # the post no longer exists
    replaced: bool = False          # the post shows other media now


async def reread_file(client: Any, channel_id: int, access_hash: int, message_id: int,
                      file_key: str) -> Reread:
    """Read the post again (``channels.getMessages``) for a fresh reference of the file
    ``file_key`` (``photo:ID``/``document:ID``). Raises Telegram's errors."""
    answer = await client(functions.channels.GetMessagesRequest(
        types.InputChannel(channel_id, access_hash), [types.InputMessageID(message_id)]))
    message = next((m for m in answer.messages if getattr(m, "id", None) == message_id), None)
    if message is None or not is_post(message):
        return Reread(gone=True)
    media = media_from_tl(message.media)
    if media is None or media.file is None or media.file.key != file_key:
        return Reread(replaced=True)
    return Reread(ref=media.file)
