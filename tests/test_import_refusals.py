"""A refused import writes nothing: every file's channel and the owner of
``--username`` are checked before the first file is stored."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from clikit import assert_one_line_error, cli

from tests.exportkit import CHANNEL, CID

TABLES = ("channels", "channel_names", "posts", "post_versions", "post_changes",
          "absent_messages")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)


def snapshot(db: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}


def other_channel(path: Path, cid: int = 1001, name: str = "Другой канал") -> Path:
    path.write_text(json.dumps({"name": name, "type": "public_channel", "id": cid,
                                "messages": [{"id": 1, "type": "message",
                                              "date_unixtime": "1710231420",
                                              "text": "пост другого канала"}]},
                               ensure_ascii=False), encoding="utf-8")
    return path


def full_account(path: Path, *chats: dict) -> Path:
    path.write_text(json.dumps({"about": "...", "chats": {"about": "...", "list": list(chats)}},
                               ensure_ascii=False), encoding="utf-8")
    return path


def test_two_channels_with_one_username_write_nothing(capsys, tmp_path):
    db = tmp_path / "log.db"
    assert cli(capsys, "import", str(CHANNEL), "--db", str(db))[0] == 0
    before = snapshot(db)
    other = other_channel(tmp_path / "other.json")
    code, out, err = cli(capsys, "import", str(CHANNEL), str(other), "--username",
                         "tgmon_fixture", "--db", str(db))
    assert_one_line_error(code, out, err, "--username tgmon_fixture", "2 channels",
                          "'Сводки tgmon (тест)' (id 1900000042", "'Другой канал' (id 1001")
    assert snapshot(db) == before                     # the first channel was not renamed


def test_a_full_account_export_later_in_the_list_is_checked_first_too(capsys, tmp_path):
    db = tmp_path / "log.db"
    assert cli(capsys, "import", str(CHANNEL), "--db", str(db))[0] == 0
    before = snapshot(db)
    own = json.loads(CHANNEL.read_text(encoding="utf-8"))
    other = json.loads(other_channel(tmp_path / "o.json").read_text(encoding="utf-8"))
    account = full_account(tmp_path / "result.json", own, other)
    code, out, err = cli(capsys, "import", str(CHANNEL), str(account), "--username",
                         "tgmon_fixture", "--db", str(db))
    assert_one_line_error(code, out, err, "2 channels", "result.json")
    assert snapshot(db) == before


def test_a_username_another_channel_has_in_the_log_is_refused_before_writing(capsys,
                                                                              tmp_path):
    db = tmp_path / "log.db"
    other = other_channel(tmp_path / "other.json")
    assert cli(capsys, "import", str(other), "--username", "rybar", "--db", str(db))[0] == 0
    before = snapshot(db)
    code, out, err = cli(capsys, "import", str(CHANNEL), "--username", "@Rybar",
                         "--db", str(db))
    assert_one_line_error(code, out, err, "@rybar", "'Другой канал' (id 1001)",
                          f"(id {CID})")
    assert snapshot(db) == before
    # the same channel under its own username still imports
    code, out, err = cli(capsys, "import", str(other), "--username", "rybar", "--db", str(db))
    assert code == 0, err


def test_one_channel_in_several_files_with_its_username_imports(capsys, tmp_path):
    from tests.exportkit import CHANNEL_MORE
    db = tmp_path / "log.db"
    code, out, err = cli(capsys, "import", str(CHANNEL), str(CHANNEL_MORE), "--username",
                         "tgmon_fixture", "--db", str(db))
    assert code == 0, err
    assert out.count("@tgmon_fixture") == 2
