"""``tgmon export`` and ``tgmon stats`` through the command line."""

from __future__ import annotations

import csv
import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from clikit import assert_one_line_error

from bot.cli import main
from tests.exportkit import CHANNEL, CHANNEL_MORE, CID, USERNAME, shared_export, texts_of


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)


def imported(db: Path, *files: Path, username: str) -> Path:
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        assert main(["import", *map(str, files), "--username", username, "--db", str(db)]) == 0
    return db


@pytest.fixture
def log_db(tmp_path) -> Path:
    return imported(tmp_path / "log.db", CHANNEL, CHANNEL_MORE, username=USERNAME)


def fixture_texts() -> dict[int, str]:
    return texts_of([CHANNEL, CHANNEL_MORE])


def test_fixtures_export_to_csv_with_every_text_intact(capsysbinary, log_db):
    assert main(["export", "--db", str(log_db)]) == 0
    out, _ = capsysbinary.readouterr()
    assert out.startswith(b"\xef\xbb\xbfchannel,channel_id,message_id,date,text,")
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8-sig"), newline="")))
    texts = fixture_texts()
    assert {int(r["message_id"]): r["text"] for r in rows} == texts
    assert all(r["url"] == f"https://t.me/{USERNAME}/{r['message_id']}" for r in rows)


def test_real_exports_export_to_csv_with_every_text_intact(capsysbinary, tmp_path):
    """The real exports of ../shared, through import and export, byte for byte."""
    files = [shared_export("public_channel_excerpt.json"),
             shared_export("public_channel_small_verbatim.json")]
    db = imported(tmp_path / "real.db", *files, username="pachumarchive")
    assert main(["export", "--db", str(db)]) == 0
    out, _ = capsysbinary.readouterr()
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8-sig"), newline="")))
    assert {int(r["message_id"]): r["text"] for r in rows} == texts_of(files)
    assert all(r["url"] == f"https://t.me/pachumarchive/{r['message_id']}" for r in rows)


def test_fixtures_export_to_jsonl_file(capsys, log_db, tmp_path):
    target = tmp_path / "out" / "posts.jsonl"
    target.parent.mkdir()
    code = main(["export", "--format", "jsonl", "--output", str(target), "--db", str(log_db)])
    out, err = capsys.readouterr()
    assert code == 0 and out == ""
    assert f"wrote 17 rows to {target}" in err
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert {r["message_id"]: r["text"] for r in records} == fixture_texts()
    assert [p.name for p in target.parent.iterdir()] == ["posts.jsonl"]    # no temp file left


def test_filters_through_the_command_line(capsysbinary, log_db):
    def ids(*options: str) -> list[int]:
        assert main(["export", "--format", "jsonl", "--db", str(log_db), *options]) == 0
        out, _ = capsysbinary.readouterr()
        return [json.loads(line)["message_id"] for line in out.decode().splitlines()]

    assert ids("--search", "ракетная ОПАСНОСТЬ") == [12]
    assert ids("--search", "теткино") == [4, 6]                 # ё = е; not the «Тёткине» of 20
    assert ids("--channel", "@TGMON_Fixture", "--since", "2024-03-12",
               "--until", "2024-03-12T07:30:00Z") == [18, 19, 20, 21]
    assert ids("--channel", str(CID), "--until", "2024-03-11T07:30:00") == [2, 4, 5, 6]
    assert len(ids("--until", "2024-03-11")) == 12
    assert ids("--only-deleted") == []


@pytest.mark.parametrize(("options", "needle"), [
    (["--format", "xml"], "unknown export format 'xml': use csv or jsonl"),
    (["--channel", "rybar"], "unknown channel 'rybar': it is not in the log "
                             "(known channels: @tgmon_fixture)"),
    (["--since", "12/03/2024"], "--since '12/03/2024' is not a date"),
    (["--until", "2024-02-30"], "--until '2024-02-30' is not a date"),
    (["--since", "2024-03-13", "--until", "2024-03-12"], "is after --until"),
    (["--search", "   "], "no word to search for"),
])
def test_bad_options_write_nothing(capsys, log_db, tmp_path, options, needle):
    target = tmp_path / "posts.csv"
    code = main(["export", "--db", str(log_db), "--output", str(target), *options])
    out, err = capsys.readouterr()
    assert_one_line_error(code, out, err, needle)
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".csv", ".part")) == []


def test_failed_export_keeps_the_previous_file(capsys, log_db, tmp_path):
    target = tmp_path / "posts.csv"
    target.write_text("previous export")
    code = main(["export", "--db", str(log_db), "--output", str(target), "--channel", "nope"])
    assert code == 1
    assert target.read_text() == "previous export"


@pytest.mark.parametrize("where", ["missing-dir", "directory"])
def test_an_output_in_a_missing_folder_or_a_folder_is_refused_by_name(capsys, log_db, tmp_path,
                                                                      where):
    target = tmp_path / "nowhere" / "x.csv" if where == "missing-dir" else tmp_path
    code = main(["export", "--db", str(log_db), "--output", str(target)])
    out, err = capsys.readouterr()
    assert_one_line_error(code, out, err, "--output")


def test_missing_database_is_not_created(capsys, tmp_path):
    db = tmp_path / "none.db"
    for command in (["export"], ["stats"]):
        code = main([*command, "--db", str(db)])
        out, err = capsys.readouterr()
        assert_one_line_error(code, out, err, "no database at")
        assert not db.exists()


def test_stats_prints_a_row_per_channel_with_its_holes_and_json_too(capsys, log_db):
    assert main(["stats", "--db", str(log_db)]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["channel", "posts", "first", "post", "(UTC)", "last", "post",
                                "(UTC)", "last", "id", "edited", "deleted", "holes"]
    assert lines[1].split() == ["@tgmon_fixture", "17", "2024-03-10", "06:05", "2024-03-12",
                                "09:00", "23", "2", "0", "3"]
    assert lines[2] == "holes in @tgmon_fixture: 3 ids in 2 ranges: 13-14, 16"
    assert main(["stats", "--json", "--ranges", "1", "--db", str(log_db)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["first_hole_ranges"] == ["13-14"] and data[0]["absent"] == 3


def test_stats_of_an_unknown_channel_is_one_line_naming_it(capsys, log_db):
    code = main(["stats", "--channel", "rybar", "--db", str(log_db)])
    out, err = capsys.readouterr()
    assert_one_line_error(code, out, err, "unknown channel 'rybar'")


def test_progress_bars_on_a_terminal_do_not_touch_the_output(capsys, monkeypatch, tmp_path):
    """With stderr on a terminal, import and export show progress on stderr only."""
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    db = tmp_path / "log.db"
    assert main(["import", str(CHANNEL), "--db", str(db)]) == 0
    out, _ = capsys.readouterr()
    assert out.count("\n") == 1 and "14 posts — 14 new" in out
    target = tmp_path / "posts.csv"
    assert main(["export", "--db", str(db), "--output", str(target)]) == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"), newline="")))
    assert len(rows) == 14
