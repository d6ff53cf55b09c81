"""Importing export files into the log: every text intact, one transaction per file,
re-imports add nothing, failures leave the database as it was."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from storekit import get_post, get_versions

from config.errors import TgmonError
from storage.channels import get_channel, save_channel
from storage.imports.desktop import ExportFormatError, NotAChannelError
from storage.imports.reader import FULL_ACCOUNT, SINGLE_CHAT, ExportFileError, probe
from storage.imports.store import AmbiguousUsernameError, ImportOptions, import_file
from storage.models import CapturePath, Channel, Post
from storage.posts import mark_deleted, save_posts
from tests.exportkit import CHANNEL, CHANNEL_MORE, CID, PERSONAL, plain_text, shared_export

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)

TABLES = ("channels", "channel_names", "posts", "post_versions", "post_changes",
          "absent_messages", "posts_fts")


async def counts(db) -> dict[str, int]:
    out = {}
    for table in TABLES:
        row = await db.fetchone(f"SELECT count(*) FROM {table}")
        out[table] = row[0]
    return out


def fixture(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def channel_export(messages, *, cid=1001, name="Тестовый канал", kind="public_channel"):
    return {"name": name, "type": kind, "id": cid, "messages": messages}


def message(mid, text, unix=1710231420, **extra):
    return {"id": mid, "type": "message", "date": "2024-03-12T08:17:00",
            "date_unixtime": str(unix), "from": "Тестовый канал", "from_id": "channel1001",
            "text": text, "text_entities": [{"type": "plain", "text": text}] if text else [],
            **extra}


async def assert_every_text_intact(db, path: Path, cid: int, title: str,
                                   service: list[int]) -> None:
    result = await import_file(db, path, ImportOptions(), NOW)
    [ch] = result.channels
    data = fixture(path)
    posts = [m for m in data["messages"] if m["type"] == "message"]
    assert (ch.posts, ch.new, ch.edited, ch.service) == (len(posts), len(posts), 0,
                                                         len(service))
    assert ch.channel == Channel(cid, None, title)
    assert any("no username known" in n for n in result.notes)
    for raw in posts:
        stored = await get_post(db, cid, raw["id"])
        assert stored is not None
        assert stored.post.text == plain_text(raw)
        assert stored.captured_via == CapturePath.IMPORT
        assert stored.post.date == datetime.fromtimestamp(int(raw["date_unixtime"]), UTC)
        assert stored.url == f"https://t.me/c/{cid}/{raw['id']}"
    absent = await db.fetchall(
        "SELECT message_id, reason FROM absent_messages WHERE channel_id = ? ORDER BY 1", (cid,))
    assert [tuple(r) for r in absent] == [(i, "service") for i in service]


async def test_fixtures_import_with_every_text_intact(db):
    await assert_every_text_intact(db, CHANNEL, CID, "Сводки tgmon (тест)", [1, 3])


async def test_real_exports_import_with_every_text_intact(db):
    await assert_every_text_intact(db, shared_export("public_channel_excerpt.json"),
                                   2447843635, "ГУЗЕЛЬСКИЕ ПЕРЕЗАЛИВЫ", [1, 3])


async def test_fixture_details_survive_storage(db):
    await import_file(db, CHANNEL, ImportOptions(), NOW)
    forwarded = await get_post(db, CID, 6)
    hidden = await get_post(db, CID, 7)
    reply = await get_post(db, CID, 8)
    edited = await get_post(db, CID, 4)
    video = await get_post(db, CID, 5)
    signed = await get_post(db, CID, 17)
    assert forwarded and forwarded.post.forward and \
        forwarded.post.forward.channel_id == 1598551001
    assert hidden and hidden.post.forward and hidden.post.forward.channel_id is None and \
        hidden.post.forward.name == "Пересланный Пользователь"
    assert hidden.post.media and hidden.post.media.kind == "voice"
    assert reply and reply.post.reply_to_id == 6
    assert edited and edited.post.edit_date == datetime(2024, 3, 11, 5, 40, tzinfo=UTC)
    assert [(r.emoji, r.count) for r in edited.post.reactions] == [
        ("👍", 12), ("custom:5368324170671202286", 3), ("paid", 2)]
    assert edited.post.media and edited.post.media.kind == "photo"
    assert video and video.post.media and (video.post.media.kind, video.post.media.file_name,
                                           video.post.media.duration) == \
        ("video", "колонна_суджа.mp4", 42.0)
    assert signed and signed.post.author == "Редактор"
    assert edited.post.views is None          # exports have no counts


async def test_real_export_details_survive_storage(db):
    await import_file(db, shared_export("public_channel_excerpt.json"), ImportOptions(), NOW)
    cid = 2447843635
    forwarded = await get_post(db, cid, 2361)
    hidden = await get_post(db, cid, 2363)
    reply = await get_post(db, cid, 900)
    edited = await get_post(db, cid, 17)
    assert forwarded and forwarded.post.forward and \
        forwarded.post.forward.channel_id == 1374438247
    assert hidden and hidden.post.forward and \
        hidden.post.forward.name == "Пересланный Пользователь Б"
    assert reply and reply.post.reply_to_id == 867
    assert edited and edited.post.edit_date == datetime.fromtimestamp(1728784322, UTC)
    assert edited.post.reactions[0].emoji == "👍"
    assert edited.post.media and edited.post.media.kind == "video"


async def test_reimport_adds_nothing(db):
    await import_file(db, CHANNEL, ImportOptions(), NOW)
    await import_file(db, CHANNEL_MORE, ImportOptions(), NOW)
    before = await counts(db)
    again = await import_file(db, CHANNEL, ImportOptions(), NOW + timedelta(days=1))
    again_small = await import_file(db, CHANNEL_MORE, ImportOptions(), NOW + timedelta(days=1))
    assert await counts(db) == before
    [ch] = again.channels
    assert (ch.new, ch.edited, ch.unchanged) == (0, 0, ch.posts)
    assert again_small.channels[0].new == 0


async def test_import_after_live_capture_keeps_counts_and_adds_versions_only_for_edits(db, t0):
    live = Channel(1001, "test_channel", "Тестовый канал")
    date = datetime.fromtimestamp(1710231420, UTC)
    await save_posts(db, [Post(1001, 1, date, "Первый", views=500, forwards=7),
                          Post(1001, 2, date, "До правки", views=90)],
                     CapturePath.LIVE, t0, channel=live)
    path = write(tmp_path := Path(db.path).parent, "export.json", channel_export([
        message(1, "Первый"),
        message(2, "После правки", edited="2024-03-12T09:00:00", edited_unixtime="1710234000"),
        message(3, "Новый"),
    ]))
    result = await import_file(db, path, ImportOptions(), NOW)
    [ch] = result.channels
    assert (ch.new, ch.edited, ch.unchanged) == (1, 1, 1)
    assert ch.channel.username == "test_channel"      # taken from the known channel id
    first = await get_post(db, 1001, 1)
    assert first and first.post.views == 500 and first.captured_via == CapturePath.LIVE
    assert [v.text for v in await get_versions(db, 1001, 2)] == ["До правки", "После правки"]
    assert tmp_path.exists()


async def test_username_option_and_known_title(db, tmp_path):
    await save_channel(db, Channel(1001, None, "Название из Telegram"), NOW)
    path = write(tmp_path, "e.json", channel_export([message(1, "x")], name="Старое название"))
    result = await import_file(db, path, ImportOptions(username="test_channel"), NOW)
    assert result.channels[0].channel == Channel(1001, "test_channel", "Название из Telegram")
    assert await get_channel(db, 1001) == Channel(1001, "test_channel", "Название из Telegram")


async def test_username_for_several_channels_is_refused_and_rolled_back(db, tmp_path):
    account = {"about": "...", "chats": {"about": "...", "list": [
        channel_export([message(1, "a")], cid=1001),
        channel_export([message(1, "b")], cid=1002, name="Другой"),
    ]}}
    path = write(tmp_path, "result.json", account)
    before = await counts(db)
    with pytest.raises(AmbiguousUsernameError, match="another channel"):
        await import_file(db, path, ImportOptions(username="test_channel"), NOW)
    assert await counts(db) == before


async def test_full_account_export_imports_each_channel_and_skips_other_chats(db, tmp_path):
    excerpt = fixture(CHANNEL)
    personal = fixture(PERSONAL)
    account = {
        "about": "Here is the data you requested.",
        "personal_information": {"user_id": 1, "first_name": "A", "phone_number": "+0"},
        "contacts": {"about": "...", "list": [{"first_name": "B", "date_unixtime": "1"}]},
        "chats": {"about": "...", "list": [personal, excerpt,
                                           channel_export([message(5, "из группы")], cid=77,
                                                          kind="private_supergroup")]},
        "left_chats": {"about": "...", "list": [
            channel_export([message(1, "покинутый канал")], cid=1001, kind="private_channel")]},
    }
    path = write(tmp_path, "result.json", account)
    assert probe(path).layout == FULL_ACCOUNT
    result = await import_file(db, path, ImportOptions(), NOW)
    assert [c.channel.channel_id for c in result.channels] == [CID, 1001]
    assert len(result.skipped_chats) == 2 and "'Борис' (personal_chat)" in result.skipped_chats[0]
    assert result.channels[0].new == len([m for m in excerpt["messages"]
                                          if m["type"] == "message"])
    left = await get_post(db, 1001, 1)
    assert left and left.post.text == "покинутый канал"
    assert await get_post(db, 77, 5) is None


async def test_full_account_without_channels_is_not_a_channel_error(db, tmp_path):
    path = write(tmp_path, "result.json",
                 {"about": "...", "chats": {"about": "...", "list": [fixture(PERSONAL)]}})
    with pytest.raises(NotAChannelError, match="holds no channel, only 'Борис'"):
        await import_file(db, path, ImportOptions(), NOW)
    assert (await counts(db))["channels"] == 0


async def test_truncated_file_stores_nothing(db, tmp_path):
    await import_file(db, CHANNEL_MORE, ImportOptions(), NOW)
    before = await counts(db)
    raw = CHANNEL.read_bytes()
    path = tmp_path / "cut.json"
    path.write_bytes(raw[:len(raw) * 2 // 3])
    with pytest.raises(ExportFileError, match=r"truncated.*after message \d+"):
        await import_file(db, path, ImportOptions(), NOW)
    assert await counts(db) == before


async def test_a_bad_message_late_in_the_file_rolls_everything_back(db, tmp_path):
    messages = [message(i, f"пост {i}") for i in range(1, 2500)]
    messages.append({"id": 2500, "type": "message", "text": "без даты"})
    path = write(tmp_path, "e.json", channel_export(messages))
    with pytest.raises(ExportFileError, match="message 2500: it has no date"):
        await import_file(db, path, ImportOptions(), NOW)
    assert await counts(db) == dict.fromkeys(TABLES, 0)


async def test_older_export_without_unixtime(db, tmp_path):
    old = channel_export([{"id": 1, "type": "message", "date": "2019-07-12T16:55:32",
                           "from": "Канал", "from_id": 8589935593, "text": "старый пост"}])
    path = write(tmp_path, "old.json", old)
    with pytest.raises(ExportFileError, match="--export-tz"):
        await import_file(db, path, ImportOptions(), NOW)
    assert (await counts(db))["posts"] == 0
    await import_file(db, path, ImportOptions(export_tz=ZoneInfo("Europe/Moscow")), NOW)
    stored = await get_post(db, 1001, 1)
    assert stored and stored.post.date == datetime(2019, 7, 12, 13, 55, 32, tzinfo=UTC)


async def test_keys_in_another_order_still_import(db, tmp_path):
    data = channel_export([message(1, "первый"), message(2, "второй")])
    path = tmp_path / "sorted.json"
    path.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    assert probe(path).layout == SINGLE_CHAT
    result = await import_file(db, path, ImportOptions(), NOW)
    assert result.channels[0].new == 2


async def test_deleted_post_stays_a_tombstone_after_reimport(db):
    await import_file(db, CHANNEL_MORE, ImportOptions(), NOW)
    async with db.transaction() as conn:
        await mark_deleted(conn, CID, [21], NOW)
    await import_file(db, CHANNEL_MORE, ImportOptions(), NOW + timedelta(hours=1))
    stored = await get_post(db, CID, 21)
    assert stored and stored.deleted_at == NOW


async def test_unsupported_messages_are_counted_not_stored(db, tmp_path):
    path = write(tmp_path, "e.json",
                 channel_export([message(1, "a"), {"id": 2, "type": "unsupported"}]))
    result = await import_file(db, path, ImportOptions(), NOW)
    assert (result.channels[0].posts, result.channels[0].unsupported) == (1, 1)
    assert (await counts(db))["absent_messages"] == 0


@pytest.mark.parametrize(("content", "error", "match"), [
    (b"", ExportFileError, "is empty"),
    (b"PK\x03\x04rest of a zip", ExportFileError, "ZIP archive"),
    (b"<!DOCTYPE html><html>", ExportFileError, "HTML"),
    (b"name,type\n1,2\n", ExportFileError, "is not JSON"),
    (b'{"name": "x", "type": "public_channel", "id": 1 "messages": []}', ExportFileError,
     "not valid JSON"),
    (b'[1, 2, 3]', ExportFileError, "not a Telegram Desktop export"),
    (b'{"hello": "world"}', ExportFileError, "not a Telegram Desktop export"),
])
def test_probe_refuses_files_that_are_not_exports(tmp_path, content, error, match):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(error, match=match):
        probe(path)


def test_probe_reads_the_header_of_a_single_chat(tmp_path):
    found = probe(PERSONAL)
    assert found.layout == SINGLE_CHAT
    assert found.header and (found.header.kind, found.header.name) == ("personal_chat", "Борис")


def test_probe_missing_and_directory(tmp_path):
    with pytest.raises(ExportFileError, match="no such file"):
        probe(tmp_path / "missing.json")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "result.json").write_text("{}")
    with pytest.raises(ExportFileError, match=r"is a directory.*result\.json inside"):
        probe(tmp_path / "export")


def test_errors_are_tgmon_errors():
    assert issubclass(ExportFileError, TgmonError)
    assert issubclass(ExportFormatError, TgmonError)
    assert issubclass(AmbiguousUsernameError, TgmonError)
