"""``tgmon import`` through the command line: summaries, and one-line errors that write
nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from clikit import assert_one_line_error, cli

from tests.exportkit import CHANNEL, CHANNEL_MORE, PERSONAL, shared_export

TABLES = ("channels", "channel_names", "posts", "post_versions", "post_changes",
          "absent_messages")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No .env or TGMON_* variable of the developer's leaks into these runs."""
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def test_import_fixtures_then_reimport(capsys, tmp_path):
    db = tmp_path / "log.db"
    code, out, err = cli(capsys, "import", str(CHANNEL), str(CHANNEL_MORE), "--username",
                         "tgmon_fixture", "--db", str(db))
    assert code == 0, err
    first, second = out.splitlines()
    assert "@tgmon_fixture (id 1900000042): 14 posts — 14 new, 0 changed, 0 already stored, " \
           "2 service messages, 1 messages Telegram Desktop could not export" in first
    assert "3 posts — 3 new" in second
    assert "no username" not in err
    before = counts(db)
    code, out, _ = cli(capsys, "import", str(CHANNEL), "--db", str(db))
    assert code == 0
    assert "14 posts — 0 new, 0 changed, 14 already stored" in out
    assert "@tgmon_fixture" in out                       # username kept from the log
    assert counts(db) == before


def test_import_real_exports_then_reimport(capsys, tmp_path):
    excerpt = shared_export("public_channel_excerpt.json")
    small = shared_export("public_channel_small_verbatim.json")
    db = tmp_path / "log.db"
    code, out, err = cli(capsys, "import", str(excerpt), str(small), "--username",
                         "pachumarchive", "--db", str(db))
    assert code == 0, err
    first, second = out.splitlines()
    assert "@pachumarchive (id 2447843635): 39 posts — 39 new, 0 changed, 0 already stored, " \
           "2 service messages" in first
    assert "6 posts — 6 new" in second
    before = counts(db)
    code, out, _ = cli(capsys, "import", str(excerpt), "--db", str(db))
    assert code == 0 and "39 posts — 0 new, 0 changed, 39 already stored" in out
    assert counts(db) == before


def test_import_without_username_notes_it(capsys, tmp_path):
    code, out, err = cli(capsys, "import", str(CHANNEL_MORE), "--db", str(tmp_path / "log.db"))
    assert code == 0
    assert "'Сводки tgmon (тест)' (id 1900000042): 3 posts" in out
    assert "tgmon: note: no username known" in err and "--username" in err


def write(path: Path, content: bytes | str | Path) -> Path:
    """``content``: the bytes or text to write, or a file to copy."""
    if isinstance(content, Path):
        content = content.read_bytes()
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def channel_json(messages: str) -> str:
    return ('{"name": "Канал", "type": "public_channel", "id": 1001, "messages": ['
            + messages + "]}")


GOOD = '{"id": 1, "type": "message", "date_unixtime": "1710231420", "text": "пост"}'

BAD_INPUTS = {
    "missing file": (None, "no such file"),
    "directory": ("DIR", "is a directory"),
    "not JSON": (b"channel,text\nrybar,hello\n", "is not JSON"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00", "is not JSON"),
    "JSON, not an export": ('{"users": [1, 2]}', "not a Telegram Desktop export"),
    "JSON array": ("[1, 2]", "not a Telegram Desktop export"),
    "truncated in the header": ('{"name": "Канал", "type": "public_ch', "is truncated"),
    "truncated in the messages": (channel_json(GOOD + ", " + GOOD)[:-20], "is truncated"),
    "invalid JSON inside": (channel_json(GOOD + " " + GOOD), "is not valid JSON"),
    "personal chat": (PERSONAL, "not of a channel"),
    "group": ('{"name": "Чат", "type": "private_supergroup", "id": 5, "messages": []}',
              "not of a channel"),
    "HTML export": (b"<!DOCTYPE html>\n<html><head>", "HTML"),
    "ZIP archive": (b"PK\x03\x04\x14\x00", "ZIP archive"),
    "unknown chat type": ('{"name": "x", "type": "broadcast", "id": 5, "messages": []}',
                          "unknown chat type"),
    "empty file": (b"", "is empty"),
    "message without date": (channel_json('{"id": 1, "type": "message", "text": "x"}'),
                             "message 1: it has no date"),
    "older export, no time zone": (
        channel_json('{"id": 1, "type": "message", "date": "2019-07-12T16:55:32", '
                     '"text": "x"}'), "--export-tz"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_creates_no_database(capsys, tmp_path, case):
    content, needle = BAD_INPUTS[case]
    path = tmp_path / "result.json"
    if content == "DIR":
        path.mkdir()
    elif content is not None:
        write(path, content)
    db = tmp_path / "log.db"
    code, out, err = cli(capsys, "import", str(path), "--db", str(db))
    assert_one_line_error(code, out, err, needle)
    if case not in ("truncated in the messages", "invalid JSON inside", "message without date",
                    "older export, no time zone"):
        assert not db.exists()          # refused before the database was opened
    else:
        assert counts(db) == dict.fromkeys(TABLES, 0)


@pytest.mark.parametrize("case", ["truncated in the messages", "invalid JSON inside",
                                  "message without date", "personal chat", "missing file"])
def test_bad_input_leaves_an_existing_database_as_it_was(capsys, tmp_path, case):
    db = tmp_path / "log.db"
    assert cli(capsys, "import", str(CHANNEL), "--db", str(db))[0] == 0
    before = counts(db)
    content, needle = BAD_INPUTS[case]
    path = tmp_path / "bad.json"
    if content is not None:
        write(path, content)
    # the good file comes first: a bad file anywhere means nothing of it is stored
    code, out, err = cli(capsys, "import", str(CHANNEL_MORE), str(path), "--db", str(db))
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("tgmon: error: ") and needle in err
    if case in ("personal chat", "missing file"):
        assert counts(db) == before                      # refused before any import
        assert out == ""
    else:
        assert "nothing of" in err and "imported before it" in err


def test_older_export_with_time_zone(capsys, tmp_path):
    path = write(tmp_path / "old.json", channel_json(
        '{"id": 1, "type": "message", "date": "2019-07-12T16:55:32", "text": "старый"}'))
    db = tmp_path / "log.db"
    code, _, err = cli(capsys, "import", str(path), "--export-tz", "Europe/Moscow",
                         "--db", str(db))
    assert code == 0, err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT date, text FROM posts").fetchone() == \
            ("2019-07-12T13:55:32Z", "старый")


@pytest.mark.parametrize(("option", "value", "needle"), [
    ("--username", "no spaces allowed", "not a Telegram username"),
    ("--username", "ab", "not a Telegram username"),
    ("--export-tz", "Mars/Olympus", "not a known time zone"),
])
def test_bad_import_options_are_refused_before_a_database_is_made(capsys, tmp_path, option,
                                                                   value, needle):
    db = tmp_path / "log.db"
    code, out, err = cli(capsys, "import", str(CHANNEL_MORE), option, value, "--db", str(db))
    assert_one_line_error(code, out, err, needle)
    assert not db.exists()


def test_username_forms_are_accepted(capsys, tmp_path):
    db = tmp_path / "log.db"
    code, out, _ = cli(capsys, "import", str(CHANNEL_MORE), "--username", "https://t.me/tgmon_fixture",
                       "--db", str(db))
    assert code == 0 and "@tgmon_fixture" in out


def test_full_account_export_notes_skipped_chats(capsys, tmp_path):
    account = {"about": "...", "chats": {"about": "...", "list": [
        json.loads(PERSONAL.read_text(encoding="utf-8")),
        json.loads(CHANNEL_MORE.read_text(encoding="utf-8"))]}}
    path = write(tmp_path / "result.json", json.dumps(account, ensure_ascii=False))
    code, out, err = cli(capsys, "import", str(path), "--db", str(tmp_path / "log.db"))
    assert code == 0
    assert "3 posts — 3 new" in out
    assert "skipped 'Борис' (personal_chat): not a channel" in err


def test_export_with_sorted_keys_imports(capsys, tmp_path):
    data = json.loads(CHANNEL_MORE.read_text(encoding="utf-8"))
    path = write(tmp_path / "sorted.json", json.dumps(data, ensure_ascii=False, sort_keys=True))
    code, out, err = cli(capsys, "import", str(path), "--db", str(tmp_path / "log.db"))
    assert code == 0, err
    assert "3 posts — 3 new" in out
    personal = json.loads(PERSONAL.read_text(encoding="utf-8"))
    path = write(tmp_path / "p.json", json.dumps(personal, ensure_ascii=False, sort_keys=True))
    code, out, err = cli(capsys, "import", str(path), "--db", str(tmp_path / "log.db"))
    assert code == 1 and "holds no channel, only 'Борис' (personal_chat)" in err
