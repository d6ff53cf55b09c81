"""Issue 13, done when: a simulated day with comments (some edited and deleted while
tgmon is down), views that grow, polls, previews and restricted posts, played as a
scenario through the whole app, ends with everything exported (posts with their fields,
engagement samples, comments) and a network file a GEXF reader accepts."""

from __future__ import annotations

import csv
import io
import json

from bot.app import default_components
from bot.cli import main

USER_A, USER_B = 501, 502
LEGION, RVC = 1001, 1002

SCENARIO = {
    "start": "2024-03-12T00:00:00Z",
    "end": "2024-03-13T06:00:00Z",
    "settings": {"comments": "legionoffreedom", "recheck_interval": "10m"},
    "users": [{"id": USER_A, "first_name": "Алиса", "username": "alice_tg"},
              {"id": USER_B, "first_name": "Боб"}],
    "channels": [
        {"id": LEGION, "username": "legionoffreedom", "title": "Легион",
         "discussion": {"id": 2001, "title": "Легион: чат"},
         "history": [
             {"id": 1, "date": "2024-03-11T22:00:00Z", "text": "Где прорыв?",
              "poll": {"question": "Где прорыв?",
                       "answers": [{"text": "Тёткино", "voters": 120}, "Козинка"]}},
             {"id": 2, "date": "2024-03-11T23:00:00Z", "text": "Подробности https://t.me/russvolcorps/7",
              "webpage": {"url": "https://t.me/russvolcorps/7", "site": "Telegram",
                          "title": "РДК", "description": "Сводка"}},
             {"id": 3, "date": "2024-03-11T23:30:00Z", "text": "Закрыто для Android",
              "restriction_reason": [{"platform": "android", "reason": "porn",
                                      "text": "Недоступно"}], "noforwards": True}]},
        {"id": RVC, "username": "russvolcorps", "title": "РДК",
         "history": [{"id": 7, "date": "2024-03-11T20:00:00Z", "text": "Сводка", "views": 100}]},
    ],
    "events": [
        {"at": "2024-03-12T05:00:00Z", "post": {"channel": "legionoffreedom", "id": 4,
                                                "text": "Бойцы вошли в Тёткино", "views": 10}},
        {"at": "2024-03-12T05:05:00Z", "comment": {"channel": "legionoffreedom", "post": 4,
                                                   "id": 5, "from": USER_A,
                                                   "text": "Слышу взрывы"}},
        {"at": "2024-03-12T05:06:00Z", "comment": {"channel": "legionoffreedom", "post": 4,
                                                   "id": 6, "from": USER_B, "reply_to": 5,
                                                   "text": "Где именно?"}},
        {"at": "2024-03-12T05:30:00Z", "post": {"channel": "legionoffreedom", "id": 5,
                                                "text": "репост",
                                                "fwd_from": {"channel": "russvolcorps",
                                                             "id": 7}}},
        {"at": "2024-03-12T06:10:00Z", "views": {"channel": "legionoffreedom", "id": 4,
                                                 "views": 1500, "reactions": {"🔥": 40}}},
        {"at": "2024-03-12T08:00:00Z", "fault": {"kind": "app_down",
                                                 "until": "2024-03-12T10:00:00Z"}},
        {"at": "2024-03-12T08:30:00Z", "edit": {"channel": "legionoffreedom", "id": 5,
                                                "comment": True,
                                                "text": "Слышу взрывы, уже тихо"}},
        {"at": "2024-03-12T08:40:00Z", "delete": {"channel": "legionoffreedom", "ids": [6],
                                                  "comment": True}},
        {"at": "2024-03-12T08:50:00Z", "comment": {"channel": "legionoffreedom", "post": 4,
                                                   "id": 8, "from": USER_B,
                                                   "text": "Пропал свет"}},
        {"at": "2024-03-12T11:30:00Z", "views": {"channel": "legionoffreedom", "id": 4,
                                                 "views": 9000}},
        {"at": "2024-03-13T03:00:00Z", "views": {"channel": "legionoffreedom", "id": 4,
                                                 "views": 15000}},
    ],
}


def _export(capsysbinary, db: str, *args: str) -> list[dict]:
    assert main(["export", "--format", "jsonl", "--include-deleted", *args, "--db", db]) == 0
    out, _ = capsysbinary.readouterr()
    return [json.loads(line) for line in out.decode().splitlines()]


def test_a_day_of_comments_growth_and_fields_is_exported(sim, capsysbinary, tmp_path):
    import networkx as nx

    report = sim.play(SCENARIO, components=default_components)
    assert report.world.failures == [] and report.skipped == []
    db = str(sim.settings().db_path)

    posts = {(r["channel"], r["message_id"]): r for r in _export(capsysbinary, db)}
    poll = posts[("legionoffreedom", 1)]["poll"]
    assert poll["question"] == "Где прорыв?" and poll["answers"][0]["voters"] == 120
    assert posts[("legionoffreedom", 2)]["webpage_title"] == "РДК"
    assert posts[("legionoffreedom", 3)]["restriction_reason"][0]["platform"] == "android"
    assert posts[("legionoffreedom", 3)]["noforwards"] == 1
    assert posts[("legionoffreedom", 5)]["forwarded_from_channel_id"] == RVC

    samples = [r for r in _export(capsysbinary, db, "--metrics")
               if (r["channel"], r["message_id"]) == ("legionoffreedom", 4)]
    views = [r["views"] for r in samples]
    # read at capture, soon after 1 h (comments came: 10 views still), 6 h and 24 h
    assert views == [10, 10, 1500, 15000], samples
    assert [r["at"][11:16] for r in samples][-1] >= "05:00"
    assert samples[-1]["reactions"] == {"🔥": 40}

    comments = {r["comment_id"]: r for r in _export(capsysbinary, db, "--comments")}
    assert set(comments) == {5, 6, 8}
    assert comments[5]["text"] == "Слышу взрывы, уже тихо"          # edited while down
    assert comments[6]["deleted_at"] is not None                     # deleted while down
    assert comments[6]["reply_to"] == 5 and comments[6]["from_name"] == "Боб"
    assert comments[8]["url"] == "https://t.me/legionoffreedom/4?comment=8"

    out = tmp_path / "net.gexf"
    assert main(["network", "--output", str(out), "--db", db]) == 0
    graph = nx.read_gexf(out)
    edges = {(u, v, d["kind"]) for u, v, d in graph.edges(data=True)}
    assert (str(LEGION), str(RVC), "forward") in edges
    assert (str(LEGION), str(RVC), "link") in edges
    assert main(["export", "--comments", "--no-bom", "--db", db]) == 0
    rows = list(csv.DictReader(io.StringIO(capsysbinary.readouterr()[0].decode(), newline="")))
    assert [r["comment_id"] for r in rows] == ["5", "8"]             # deleted left out
