"""``tgmon export --with-media DIR``: the exported posts' media files copied out of the
archive into DIR, under the same relative paths as the export's ``media_path`` column,
with a ``SHA256SUMS`` manifest that ``sha256sum -c SHA256SUMS`` verifies in DIR: an
evidence package.

Each copy is hashed as it is written and must match the hash recorded when the file was
downloaded; a file of the archive that changed or went missing stops the package with an
error naming it (``tgmon media verify`` checks the whole archive). Files are written
under a temporary name and renamed, and the manifest last, so a package that has its
manifest is complete.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from pathlib import Path

from config.errors import TgmonError
from config.sizes import human_size
from storage.db import Database
from storage.export import ExportFilter, export_sql
from storage.mediastore import copy_hashed, hash_file

MANIFEST = "SHA256SUMS"


class EvidenceError(TgmonError):
    pass


def check_package_dir(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise EvidenceError(f"--with-media {target} is a file: give a directory")
    parent = target if target.exists() else target.parent
    if not parent.is_dir():
        raise EvidenceError(f"--with-media {target}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise EvidenceError(f"--with-media {target}: cannot write in {parent}")


def _copy(source: Path, target: Path, sha256: str) -> int:
    """Copy ``source`` to ``target`` (temporary name, then rename), checking its hash."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if (target.is_file() and target.stat().st_size == source.stat().st_size
            and hash_file(target)[0] == sha256):
        return 0                        # already in the package (a package made again)
    temp = target.with_name(f".{target.name}.part")
    try:
        digest, size = copy_hashed(source, temp)
        if digest != sha256:
            raise EvidenceError(
                f"{source} no longer matches the SHA-256 recorded when it was downloaded "
                f"({sha256}); run `tgmon media verify`")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return size


async def write_package(db: Database, flt: ExportFilter, archive: Path, target: Path) -> None:
    """Copy the files of the rows ``flt`` exports into ``target`` with a manifest."""
    sql, params = export_sql(flt)
    files: dict[str, str] = {}              # sha256 -> relative path
    statuses: Counter[str] = Counter()
    async for row in db.stream(sql, params):
        sha, path, status = row["media_sha256"], row["media_path"], row["media_status"]
        if status is not None:
            statuses[status] += 1
        if sha and path:
            files.setdefault(sha, path)
    target.mkdir(parents=True, exist_ok=True)
    loop = asyncio.get_running_loop()
    copied = 0
    missing = []
    for sha, rel in sorted(files.items(), key=lambda kv: kv[1]):
        source = archive / rel
        if not source.is_file():
            missing.append(rel)
            continue
        copied += await loop.run_in_executor(None, _copy, source, target / rel, sha)
    if missing:
        raise EvidenceError(
            f"{len(missing)} files of the export are missing from the archive {archive} "
            f"(first: {missing[0]}); run `tgmon media verify`")
    manifest = target / MANIFEST
    temp = manifest.with_name(f".{MANIFEST}.part")
    temp.write_text("".join(f"{sha}  {rel}\n" for sha, rel in
                            sorted(files.items(), key=lambda kv: kv[1])), encoding="utf-8")
    os.replace(temp, manifest)
    others = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()) if s != "done")
    print(f"tgmon: {len(files)} media files in {target} ({human_size(copied)} copied) with "
          f"{MANIFEST}" + (f"; not in the archive: {others}" if others else ""),
          file=sys.stderr)
