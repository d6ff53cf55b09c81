"""The media archive on the command line: ``tgmon media`` counts, ``tgmon media verify``
finds a changed or missing file, export columns (``--versions`` rows carry their own
file), ``tgmon export --with-media DIR`` with a manifest that ``sha256sum -c``
verifies, and ``tgmon import`` taking a Telegram Desktop export's media files."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clikit import cli

from storage import media
from storage.db import open_database
from storage.mediastore import MediaStore
from storage.models import CapturePath, Channel, FileRef, Media, Post
from storage.posts import save_posts

T0 = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
LEGION = Channel(1001, "legionoffreedom", "Легион")
PHOTO = b"\xff\xd8" + b"photo-bytes" * 100 + b"\xff\xd9"
VIDEO = bytes(range(256)) * 40
NEW_PHOTO = b"\xff\xd8" + b"another picture" * 50 + b"\xff\xd9"


def _ref(n: int, kind: str = "photo") -> FileRef:
    return FileRef(kind, n, 1, b"ref", 2, "y" if kind == "photo" else "")


async def _make(db_path: Path, media_dir: Path) -> None:
    """Four posts: a photo (later replaced by an edit), a video, a pending document and a
    text; the first three downloaded as the downloader would."""
    db = await open_database(db_path)
    store = MediaStore(media_dir)
    try:
        posts = [
            Post(1001, 1, T0, "Фото", media=Media("photo", size=len(PHOTO), file=_ref(11))),
            Post(1001, 2, T0 + timedelta(minutes=1), "Видео",
                 media=Media("video", size=len(VIDEO), mime_type="video/mp4",
                             file=_ref(12, "document"))),
            Post(1001, 3, T0 + timedelta(minutes=2), "Документ",
                 media=Media("document", size=10, file_name="a.pdf", file=_ref(13, "document"))),
            Post(1001, 4, T0 + timedelta(minutes=3), "Текст"),
        ]
        await save_posts(db, posts, CapturePath.LIVE, T0, LEGION)
        for mid, data, ext in ((1, PHOTO, ".jpg"), (2, VIDEO, ".mp4")):
            item = (await media.items_of_post(db, 1001, mid))[0]
            await _store(db, store, item.id, data, ext)
        # an edit replaces the photo: a second version with its own file
        edited = Post(1001, 1, T0, "Фото (новое)", edit_date=T0 + timedelta(hours=1),
                      media=Media("photo", size=len(NEW_PHOTO), file=_ref(21)))
        await save_posts(db, [edited], CapturePath.LIVE, T0 + timedelta(hours=1))
        new_item = next(i for i in await media.items_of_post(db, 1001, 1) if i.version == 2)
        await _store(db, store, new_item.id, NEW_PHOTO, ".jpg")
    finally:
        await db.close()


async def _store(db, store: MediaStore, item_id: int, data: bytes, ext: str) -> None:
    store.ensure()
    temp = store.incoming("t")
    temp.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    rel = store.commit(temp, sha, ext)
    await media.record_done(db, item_id, media.StoredFile(sha, len(data), rel), T0)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    db_path = tmp_path / "tgmon.db"
    asyncio.run(_make(db_path, tmp_path / "tgmon-media"))
    return db_path


def test_media_counts_items_files_and_bytes(archive, capsys):
    code, out, err = cli(capsys, "media", "--db", str(archive), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["items"]["done"] == 3 and data["items"]["pending"] == 1
    assert data["files"] == 3
    assert data["bytes"] == len(PHOTO) + len(VIDEO) + len(NEW_PHOTO)
    assert data["directory"].endswith("tgmon-media")
    code, out, _ = cli(capsys, "media", "--db", str(archive))
    assert code == 0 and "3 files stored" in out and "1 pending" in out


def test_media_verify_is_clean_then_finds_a_changed_and_a_missing_file(archive, capsys):
    code, out, _ = cli(capsys, "media", "verify", "--db", str(archive))
    assert code == 0 and "3 files checked" in out and "all match" in out
    root = archive.parent / "tgmon-media"
    photo, video = _path_of(root, PHOTO), _path_of(root, VIDEO)
    (root / photo).write_bytes(PHOTO[:-1] + b"\x00")
    (root / video).unlink()
    code, out, _ = cli(capsys, "media", "verify", "--db", str(archive))
    assert code == 1
    assert f"CHANGED {photo}" in out
    assert f"MISSING {video}" in out
    assert "1 changed, 1 missing" in out


def _path_of(root: Path, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    return next(p.relative_to(root).as_posix() for p in root.rglob(f"{sha}*"))


def test_export_columns_name_each_rows_file_and_versions_their_own(archive, capsys):
    code, out, err = cli(capsys, "export", "--db", str(archive), "--format", "jsonl")
    assert code == 0, err
    rows = {r["message_id"]: r for r in map(json.loads, out.splitlines())}
    root = archive.parent / "tgmon-media"
    assert rows[1]["media_sha256"] == hashlib.sha256(NEW_PHOTO).hexdigest()   # latest
    assert rows[1]["media_path"] == _path_of(root, NEW_PHOTO)
    assert rows[2]["media_status"] == "done" and rows[2]["media_path"].endswith(".mp4")
    assert rows[3]["media_status"] == "pending" and rows[3]["media_sha256"] is None
    assert rows[4]["media_status"] is None and rows[4]["media_path"] is None
    code, out, _ = cli(capsys, "export", "--db", str(archive), "--versions", "--no-bom",
                       "--channel", "legionoffreedom")
    versions = [r for r in csv.DictReader(io.StringIO(out)) if r["message_id"] == "1"]
    assert [(r["version"], r["media_sha256"]) for r in versions] == [
        ("1", hashlib.sha256(PHOTO).hexdigest()), ("2", hashlib.sha256(NEW_PHOTO).hexdigest())]


def test_export_with_media_makes_an_evidence_package_sha256sum_verifies(archive, capsys,
                                                                         tmp_path):
    package = tmp_path / "evidence"
    code, _out, err = cli(capsys, "export", "--db", str(archive), "--versions",
                         "--output", str(tmp_path / "posts.csv"), "--with-media", str(package))
    assert code == 0, err
    assert "3 media files" in err and "SHA256SUMS" in err and "1 pending" in err
    manifest = (package / "SHA256SUMS").read_text().splitlines()
    assert len(manifest) == 3
    for line in manifest:
        sha, rel = line.split("  ")
        assert hashlib.sha256((package / rel).read_bytes()).hexdigest() == sha
    rows = list(csv.DictReader(io.StringIO((tmp_path / "posts.csv").read_text("utf-8-sig"))))
    assert {r["media_path"] for r in rows if r["media_path"]} == \
        {line.split("  ")[1] for line in manifest}
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum (coreutils) is not installed")
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=package,
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == 3


def test_export_with_media_refuses_a_file_that_changed_in_the_archive(archive, capsys,
                                                                      tmp_path):
    root = archive.parent / "tgmon-media"
    (root / _path_of(root, VIDEO)).write_bytes(b"tampered")
    code, _out, err = cli(capsys, "export", "--db", str(archive), "--output",
                         str(tmp_path / "x.csv"), "--with-media", str(tmp_path / "pkg"))
    assert code == 1 and "no longer matches the SHA-256" in err
    assert not (tmp_path / "pkg" / "SHA256SUMS").exists()


def test_import_takes_an_exports_media_files_into_the_archive(tmp_path, capsys):
    export = tmp_path / "export"
    (export / "photos").mkdir(parents=True)
    (export / "video_files").mkdir()
    from bot.sim.files import picture
    jpeg = picture(3, 320, 240)
    (export / "photos" / "photo_1@12-03-2024_05-00-00.jpg").write_bytes(jpeg)
    (export / "video_files" / "raid.mp4").write_bytes(VIDEO)
    base = {"type": "message", "date": "2024-03-12T08:00:00", "date_unixtime": "1710219600",
            "from": "Легион", "from_id": "channel1001"}
    result = {"name": "Легион", "type": "public_channel", "id": 1001, "messages": [
        {**base, "id": 1, "text": "Фото", "photo": "photos/photo_1@12-03-2024_05-00-00.jpg",
         "photo_file_size": len(jpeg), "width": 320, "height": 240},
        {**base, "id": 2, "text": "Видео", "file": "video_files/raid.mp4",
         "file_name": "raid.mp4", "file_size": len(VIDEO), "media_type": "video_file",
         "mime_type": "video/mp4"},
        {**base, "id": 3, "text": "Без файла",
         "file": "(File not included. Change data exporting settings to download.)",
         "file_size": 5000000, "media_type": "video_file", "mime_type": "video/mp4"},
        {**base, "id": 4, "text": "Потерян", "photo": "photos/gone.jpg"},
    ]}
    (export / "result.json").write_text(json.dumps(result, ensure_ascii=False), "utf-8")
    db_path = tmp_path / "tgmon.db"
    code, out, err = cli(capsys, "import", str(export / "result.json"), "--db", str(db_path),
                         "--username", "legionoffreedom")
    assert code == 0, err
    assert "2 media files taken into the archive" in out

    async def read():
        db = await open_database(db_path)
        try:
            return {r["message_id"]: r for r in await db.fetchall(
                "SELECT m.*, f.path, f.phash FROM media_items m "
                "LEFT JOIN media_files f USING (sha256)")}
        finally:
            await db.close()

    items = asyncio.run(read())
    root = tmp_path / "tgmon-media"
    assert items[1]["status"] == "done" and items[1]["phash"]
    assert (root / items[1]["path"]).read_bytes() == jpeg
    assert items[2]["sha256"] == hashlib.sha256(VIDEO).hexdigest()
    assert items[2]["path"].endswith(".mp4")
    assert items[3]["status"] == "missed" and "File not included" in items[3]["last_error"]
    assert items[4]["status"] == "missed" and "photos/gone.jpg" in items[4]["last_error"]
    # importing again changes nothing
    code, _, err = cli(capsys, "import", str(export / "result.json"), "--db", str(db_path))
    assert code == 0, err
    assert asyncio.run(read()).keys() == items.keys()
    code, out, _ = cli(capsys, "media", "verify", "--db", str(db_path))
    assert code == 0 and "2 files checked" in out
