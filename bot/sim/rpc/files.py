"""Downloading files: ``upload.getFile`` with Telegram's rules on parts and offsets,
file references that expire, access hashes and references valid for the account that
read the post only, and flood waits (the ``flood_wait`` fault on
``upload.getFile``, checked for every request by the registry)."""

from __future__ import annotations

from typing import Any

from telethon.tl import functions, types

from bot.sim.files import SimFile
from bot.sim.rpc.registry import Call, handles
from bot.sim.tl import RpcFail

PART_MAX = 1 << 20              # 1 MB: the largest part, and the window none may cross
ALIGN = 4096                    # offsets and limits of imprecise requests
PRECISE_ALIGN = 1024


def check_part(offset: int, limit: int, precise: bool) -> None:
    """Telegram's rules for one ``upload.getFile`` part (core.telegram.org, "Uploading
    and Downloading Files"): without ``precise``, offset and limit divisible by 4096,
    1 MB divisible by limit, and no part crossing a 1 MB boundary; with it, limit
    divisible by 1024 and at most 1 MB."""
    if offset < 0 or offset % (PRECISE_ALIGN if precise else ALIGN):
        raise RpcFail(400, "OFFSET_INVALID")
    if limit <= 0 or limit > PART_MAX:
        raise RpcFail(400, "LIMIT_INVALID")
    if precise:
        if limit % PRECISE_ALIGN:
            raise RpcFail(400, "LIMIT_INVALID")
        return
    if limit % ALIGN or PART_MAX % limit:
        raise RpcFail(400, "LIMIT_INVALID")
    if offset // PART_MAX != (offset + limit - 1) // PART_MAX:
        raise RpcFail(400, "LIMIT_INVALID")


def _file(call: Call, location: Any) -> SimFile:
    if isinstance(location, types.InputPhotoFileLocation):
        photo = True
    elif isinstance(location, types.InputDocumentFileLocation):
        photo = False
    else:
        raise NotImplementedError(f"the simulation serves photos and documents, not "
                                  f"{type(location).__name__}")
    file = call.world.files.get(location.id)
    # a file's access hash and references are the account's that read the post
    if file is None or file.photo != photo \
            or file.access_hash_for(call.account.id) != location.access_hash:
        raise RpcFail(400, "FILE_ID_INVALID")
    if file.reference_viewer(bytes(location.file_reference)) != call.account.id:
        raise RpcFail(400, "FILE_REFERENCE_INVALID")
    if photo and location.thumb_size != "y":
        raise RpcFail(400, "LOCATION_INVALID")
    if not file.reference_valid(bytes(location.file_reference), call.world.ts(),
                                call.world.file_reference_lifetime):
        raise RpcFail(400, "FILE_REFERENCE_EXPIRED")
    return file


@handles(functions.upload.GetFileRequest)
def get_file(call: Call, req: Any) -> types.upload.File:
    """A part of a file; fewer bytes than ``limit`` means the end of the file."""
    check_part(req.offset, req.limit, bool(req.precise))
    if req.cdn_supported:
        raise NotImplementedError("the simulation has no CDN: leave cdn_supported unset")
    file = _file(call, req.location)
    data = file.read(req.offset, req.limit)
    file.served += len(data)
    kind = types.storage.FileJpeg() if file.photo else types.storage.FilePartial()
    return types.upload.File(type=kind, mtime=int(call.world.ts()), bytes=data)
