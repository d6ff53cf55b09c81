"""Issue 13, item 4: tgmon network writes who forwards, links and mentions whom, as
GEXF 1.3 (read back with networkx's GEXF reader) or two CSV files."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime, timedelta

import pytest
from clikit import assert_one_line_error

from bot.cli import main
from storage.models import Channel, Entity, ForwardOrigin, Post

DAY = datetime(2024, 3, 12, tzinfo=UTC)
LEGION, RVC, RYBAR, HIDDEN_ORIGIN = 1001, 1002, 1003, 5555


def _log(path) -> None:
    from storage.capture import Batch, save_batch
    from storage.db import open_database
    from storage.models import CapturePath

    def at(h: float) -> datetime:
        return DAY + timedelta(hours=h)

    legion = [
        Post(LEGION, 1, at(1), "Репост", forward=ForwardOrigin(RVC, 7, at(0), "РДК")),
        Post(LEGION, 2, at(2), "ещё", forward=ForwardOrigin(RVC, 8, at(1), "РДК")),
        Post(LEGION, 3, at(3), "из закрытого", forward=ForwardOrigin(HIDDEN_ORIGIN, 1, at(2),
                                                                     "Сибирский батальон")),
        Post(LEGION, 4, at(4), "аноним", forward=ForwardOrigin(None, None, at(3), "Скрытый")),
        Post(LEGION, 5, at(5), "см. https://t.me/rybar/100 и t.me/s/wargonzo, @russvolcorps "
             "@some_person, mail@example.org",
             entities=(Entity("text_link", 0, 3, url="https://t.me/c/7777/1"),
                       Entity("mention", 46, 13), Entity("mention", 61, 12))),
        Post(LEGION, 6, at(6), "и снова t.me/rybar/101 <&> \x01"),
    ]
    rvc = [Post(RVC, 7, at(0), "оригинал"), Post(RVC, 8, at(1), "оригинал 2"),
           Post(RVC, 9, at(30), "t.me/legionoffreedom/1")]
    rybar = [Post(RYBAR, 100, at(0), "пост"), Post(RYBAR, 101, at(5), "пост")]

    async def main_():
        db = await open_database(path)
        try:
            for cid, name, title, posts in ((LEGION, "legionoffreedom", "Легион <Свобода>",
                                             legion), (RVC, "russvolcorps", "РДК", rvc),
                                            (RYBAR, "rybar", "Рыбарь", rybar)):
                await save_batch(db, Batch(cid, Channel(cid, name, title), posts),
                                 CapturePath.CATCH_UP, DAY + timedelta(days=2))
        finally:
            await db.close()

    asyncio.run(main_())


@pytest.fixture
def log_db(tmp_path):
    db = tmp_path / "log.db"
    _log(db)
    return db


def _edges(graph) -> set[tuple[str, str, str, int]]:
    return {(u, v, d["kind"], int(d["weight"])) for u, v, d in graph.edges(data=True)}


def test_gexf_opens_in_a_gexf_reader_with_every_kind_of_edge(log_db, tmp_path, capsys):
    import networkx as nx

    out = tmp_path / "net.gexf"
    assert main(["network", "--output", str(out), "--db", str(log_db)]) == 0
    assert "channels" in capsys.readouterr().err
    g = nx.read_gexf(out)
    assert g.is_directed() and g.is_multigraph()
    L, R, Y = str(LEGION), str(RVC), str(RYBAR)
    assert _edges(g) == {
        (L, R, "forward", 2), (L, str(HIDDEN_ORIGIN), "forward", 1),
        (L, "name:Скрытый", "forward", 1),
        (L, Y, "link", 2), (L, "@wargonzo", "link", 1), (L, "7777", "link", 1),
        (L, R, "mention", 1),                   # @some_person is no known channel
        (R, L, "link", 1),
    }
    assert g.nodes[L]["label"] == "Легион <Свобода>"
    assert g.nodes[L]["posts"] == 6 and g.nodes[L]["in_log"] is True
    assert g.nodes[str(HIDDEN_ORIGIN)]["label"] == "Сибирский батальон"   # id and name kept
    assert g.nodes[str(HIDDEN_ORIGIN)]["in_log"] is False
    forward = next(d for u, v, d in g.edges(data=True) if (u, v, d["kind"]) == (L, R, "forward"))
    assert (forward["first"], forward["last"]) == ("2024-03-12T01:00:00Z", "2024-03-12T02:00:00Z")


def test_filters_and_csv_files(log_db, tmp_path, capsys):
    out = tmp_path / "net.csv"
    assert main(["network", "--format", "csv", "--output", str(out), "--channel", "russvolcorps",
                 "--db", str(log_db)]) == 0
    nodes = list(csv.DictReader((tmp_path / "net.nodes.csv").open(encoding="utf-8")))
    edges = list(csv.DictReader((tmp_path / "net.edges.csv").open(encoding="utf-8")))
    assert [(e["source"], e["target"], e["kind"], e["count"]) for e in edges] == [
        (str(RVC), str(LEGION), "link", "1")]
    assert {n["id"] for n in nodes} == {str(RVC), str(LEGION)}
    assert main(["network", "--until", "2024-03-12T02:30", "--db", str(log_db)]) == 0
    gexf = capsys.readouterr().out
    assert 'kind="forward" weight="2"' in gexf and 'kind="link"' not in gexf


def test_bad_options_are_refused_in_one_line(log_db, capsys):
    for argv, needle in ((["--format", "dot"], "unknown network format"),
                         (["--format", "csv"], "give --output"),
                         (["--channel", "nope"], "unknown channel")):
        code = main(["network", *argv, "--db", str(log_db)])
        out, err = capsys.readouterr()
        assert_one_line_error(code, out, err, needle)


def test_posts_stored_before_links_were_filed_are_read_from_their_texts(log_db, tmp_path):
    import sqlite3

    import networkx as nx

    filed = tmp_path / "filed.gexf"
    assert main(["network", "--output", str(filed), "--db", str(log_db)]) == 0
    conn = sqlite3.connect(log_db)
    assert conn.execute("SELECT count(*) FROM post_links").fetchone()[0] > 0
    # as if the posts predated post_links (a log migrated from an older tgmon)
    conn.execute("DELETE FROM post_links")
    conn.execute("UPDATE post_links_scan SET below = (SELECT max(id) FROM posts)")
    conn.commit()
    conn.close()
    scanned = tmp_path / "scanned.gexf"
    assert main(["network", "--output", str(scanned), "--db", str(log_db)]) == 0
    assert _edges(nx.read_gexf(scanned)) == _edges(nx.read_gexf(filed))
