"""Random days: a seeded generator of valid scenarios for the soak (``python -m bench
soak``).

``generate(seed)`` is pure: the same seed gives the same scenario, as the JSON-like dict
that :func:`bot.sim.scenario.parse_scenario` reads. A scenario has 1-8 channels with
history, one to three days of posts (text, media, albums, forwards, replies, long texts
near Telegram's limits, emoji and HTML-like characters), edits, deletions and new view
counts; people who write every bot command (valid and not) in private and in groups,
with the bot in open or allowlist mode; and every fault kind of
:data:`bot.sim.scenario_events.FAULTS` at random moments.

The events are produced in time order against a model of the channels (what exists at
each moment), so every reference is valid by construction; the scenario validator
checks it anyway. The last events come at least :data:`QUIET_TAIL` before the end, so
that re-checks and the outbox settle before the run is judged.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from storage.models import utf16_len

QUIET_TAIL = timedelta(minutes=90)      # nothing happens in the last 90 minutes
BOT_USERNAME = "tgmon_sim_bot"          # the simulated bot's username (bot.sim.world)
EDITABLE_FOR = timedelta(hours=40)      # edits and deletions touch posts younger than this
TEXT_MAX = 4096                         # UTF-16 code units of a post's text ...
CAPTION_MAX = 1024                      # ... and of a media caption

# Dates of the days played: ordinary March days, and the nights clocks change in Europe.
START_DAYS = ("2024-03-04", "2024-03-11", "2024-03-12", "2024-03-20", "2024-03-30",
              "2024-03-31", "2024-10-26", "2024-10-27")
ZONES = ("UTC", "Europe/Moscow", "Europe/Kyiv", "Europe/Berlin", "Asia/Vladivostok",
         "America/New_York")
PLACES = ("Тёткино", "Козинка", "Глотово", "Курск", "Белгород", "Суджа", "Шебекино",
          "Грайворон", "Харків", "Сумщина", "Kursk", "Tyotkino", "Belgorod")
WORDS = ("бои", "обстрел", "колонна", "граница", "эвакуация", "сводка", "штурм", "ПВО",
         "БПЛА", "атака", "отбита", "подразделения", "легион", "корпус", "жители",
         "укрытия", "обстріл", "тривога", "raid", "border", "drone", "update", "the",
         "Ёлки", "ещё", "всё", "сёла")
EXTRAS = ("🔥", "⚡️", "❗️", "🇷🇺", "👨‍👩‍👧", "𝐁𝐨𝐥𝐝", "😀", "<b>", "a < b > c", "&amp;",
          "R&D", '"цитата"', "#сводка", "#РДК", "@someone", "https://t.me/rybar/1", "—",
          "\n", "\n\n")
TITLES = ("Легион «Свобода России»", "Русский добровольческий корпус", "Губернатор <46>",
          "Рыбарь & Co", "Два майора 🔥", "WarGonzo", "Новости \"Курска\"", "Белгород 24")
NAMES = ("Ольга", "Марк", "Анна", "Іван", "Desk", "Lena <3", "Пётр", "Zoë")
FAULT_METHODS = {
    "user": ("messages.getHistory", "channels.getMessages", "updates.getChannelDifference",
             "updates.getDifference", "contacts.resolveUsername", "channels.getChannels",
             "channels.getFullChannel", "channels.joinChannel"),
    "bot": ("messages.sendMessage", "messages.sendMedia", "messages.editMessage",
            "updates.getDifference", "messages.setBotCallbackAnswer"),
}
# The fault kinds the generator knows how to produce (a test checks this is all of them).
FAULT_KINDS = ("drop_updates", "disconnect", "unreachable", "flood_wait", "app_down",
               "block_bot", "unblock_bot", "channel_private", "username_change")
# Faults after which tgmon stops for good: rare, and late in the day, so that most of it
# is judged.
ENDINGS = ("session_revoked", "account_banned")
# Expiring file references are planned per media post, with their own generator.
FILE_REFERENCES = ("file_reference_expired",)
FILE_REFERENCE_SHARE = 0.1
WEBHOOK_SHARE = 0.03                     # of the commands people send
ENDING_SHARE = 0.12


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Post:
    id: int
    date: datetime
    text: str
    media: bool
    grouped: int | None = None                              # album id


@dataclass
class _Channel:
    id: int
    username: str
    title: str
    last_id: int
    posts: dict[int, _Post] = field(default_factory=dict)    # existing now
    private: bool = False


@dataclass
class _Person:
    id: int
    name: str
    username: str | None
    admin: bool


class _Day:
    """The scenario being written, with the state the events change."""

    def __init__(self, rng: random.Random, *, days: int | None = None,
                 channels: int | None = None, busy: float | None = None) -> None:
        self.rng = rng
        day = rng.choice(START_DAYS)
        hour = rng.randrange(24)
        self.start = datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)
        self.days = days if days is not None else rng.choice((1, 1, 2, 3))
        self.end = self.start + timedelta(days=self.days)
        self.busy = busy if busy is not None else rng.uniform(0.3, 1.0)
        self.n_channels = channels if channels is not None else rng.randint(1, 8)
        self.channels: list[_Channel] = []
        self.people: list[_Person] = []
        self.groups: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.settings: dict[str, Any] = {}
        self.grouped_ids = iter(range(50_000_001, 60_000_000))
        self.rules_added = 0
        self.taken_names: set[str] = set()
        # What the generator learnt after seeds were recorded (expiring file references,
        # /webhook) is drawn from a second generator, seeded by the seed's first state, so
        # every other event of a seed stays as it was and recorded seeds replay the same day.
        self.later_rng = random.Random(repr(rng.getstate()[1][:8]))
        self.media_posts: list[tuple[datetime, str, int]] = []
        self.deleted_at: dict[tuple[str, int], datetime] = {}

    # ---- texts ----

    def text(self, limit: int = TEXT_MAX) -> str:
        rng = self.rng
        size = rng.choices(("short", "medium", "long"), weights=(70, 24, 6))[0]
        n = {"short": rng.randint(2, 20), "medium": rng.randint(30, 200),
             "long": 10_000}[size]
        target = rng.randint(int(limit * 0.9), limit) if size == "long" else limit
        out: list[str] = []
        used = 0
        for _ in range(n):
            pick = rng.random()
            word = (rng.choice(PLACES) if pick < 0.15 else rng.choice(EXTRAS) if pick < 0.25
                    else rng.choice(WORDS))
            piece = word if not out or word.startswith("\n") else " " + word
            if used + utf16_len(piece) > target:
                break
            out.append(piece)
            used += utf16_len(piece)
        text = "".join(out).strip()
        return text or rng.choice(PLACES)

    def entities(self, text: str) -> list[dict[str, Any]]:
        """A few entities inside the text (UTF-16 offsets), none overlapping."""
        units = utf16_len(text)
        edges = _edges(text)
        out: list[dict[str, Any]] = []
        at = 0
        for _ in range(self.rng.randint(0, 3)):
            if units - at < 2:
                break
            offset = self.rng.randrange(at, units - 1)
            length = self.rng.randint(1, min(20, units - offset))
            if offset not in edges or offset + length not in edges:  # inside an emoji
                continue
            kind = self.rng.choice(("bold", "italic", "text_link", "underline", "code",
                                    "spoiler", "strikethrough"))
            entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
            if kind == "text_link":
                entity["url"] = "https://example.org/" + str(self.rng.randrange(1000))
            out.append(entity)
            at = offset + length
        return out

    # ---- set-up ----

    def setup(self) -> None:
        rng = self.rng
        for i in range(self.n_channels):
            cid = 1_900_000_001 + i * 7919 + rng.randrange(1000)
            name = self.fresh_name(f"soak{rng.choice(('news', 'front', 'gub', 'legion', 'rdk'))}")
            ch = _Channel(cid, name, rng.choice(TITLES), rng.randrange(0, 5000))
            self.channels.append(ch)
        n_people = rng.randint(1, 6)
        for i in range(n_people):
            uid = 700_001 + i * 13
            uname = self.fresh_name("person") if rng.random() < 0.6 else None
            self.people.append(_Person(uid, rng.choice(NAMES), uname, admin=i == 0 or
                                       rng.random() < 0.15))
        for i in range(rng.choice((0, 0, 1, 2))):
            members = rng.sample([p.id for p in self.people],
                                 k=rng.randint(1, len(self.people)))
            self.groups.append({"id": 4_000_001 + i, "title": f"Desk {i} <team> & co",
                                "members": members})
        s = self.settings
        s["admins"] = [p.id for p in self.people if p.admin]
        s["access"] = rng.choice(("open", "allowlist"))
        if s["access"] == "allowlist":
            s["allowlist"] = [p.id for p in self.people if rng.random() < 0.5]
        s["timezone"] = rng.choice(ZONES)
        s["digest_time"] = f"{rng.randrange(24):02d}:{rng.choice((0, 0, 15, 30, 45)):02d}"
        if rng.random() < 0.3:
            s["watch"] = [c.username for c in self.channels
                          if c is self.channels[0] or rng.random() < 0.6]
        if rng.random() < 0.2:
            s["initial_window"] = rng.choice(("6h", "2d"))
        if rng.random() < 0.2:
            s["digest_grace"] = rng.choice(("1h", "12h"))

    def fresh_name(self, stem: str) -> str:
        while True:
            name = f"{stem}_{self.rng.randrange(10_000):04d}"
            if name.lower() not in self.taken_names:
                self.taken_names.add(name.lower())
                return name

    def history(self) -> list[dict[str, Any]]:
        out = []
        for ch in self.channels:
            posts = []
            count = self.rng.choice((0, 1, 3, 6))
            times = sorted(self.start - timedelta(minutes=self.rng.randint(5, 60 * 50))
                           for _ in range(count))
            for t in times:
                ch.last_id += self.rng.choice((1, 1, 1, 2))
                text = self.text()
                post: dict[str, Any] = {"id": ch.last_id, "date": _iso(t), "text": text,
                                        "views": self.rng.randrange(100, 100_000)}
                if self.rng.random() < 0.1:
                    post["fwd_from"] = {"name": self.rng.choice(TITLES)}
                posts.append(post)
                ch.posts[ch.last_id] = _Post(ch.last_id, t, text, False)
            out.append({"id": ch.id, "username": ch.username, "title": ch.title,
                        "history": posts, "joined": self.rng.random() > 0.15})
        return out

    # ---- events ----

    def add(self, at: datetime, action: str, body: dict[str, Any]) -> None:
        self.events.append({"at": _iso(at), action: body})

    def post(self, at: datetime, ch: _Channel) -> datetime:
        rng = self.rng
        roll = rng.random()
        if roll < 0.07:
            return self.album(at, ch)
        media = rng.random() < 0.2
        text = self.text(CAPTION_MAX if media else TEXT_MAX)
        if media and rng.random() < 0.2:
            text = ""
        ch.last_id += rng.choice((1, 1, 1, 1, 2))     # a skipped id: a service message
        body: dict[str, Any] = {"channel": ch.username, "id": ch.last_id,
                                "views": rng.randrange(10, 200_000),
                                "forwards": rng.randrange(0, 500)}
        if text:
            body["text"] = text
            if rng.random() < 0.3:
                body["entities"] = self.entities(text)
        if media:
            body["media"] = self.media()
        others = [(c, p) for c in self.channels if c is not ch and not c.private
                  for p in c.posts.values() if p.text]
        if others and roll > 0.88:
            origin, original = rng.choice(others)
            body["fwd_from"] = {"channel": origin.username, "id": original.id}
            if not media:
                body["text"] = original.text      # a repost carries the original's text
                body.pop("entities", None)
        elif roll > 0.85:
            body["fwd_from"] = {"name": rng.choice(TITLES)}
        if ch.posts and rng.random() < 0.05:
            body["reply_to"] = rng.choice(list(ch.posts))
        if rng.random() < 0.1:
            body["author"] = rng.choice(NAMES)
        self.add(at, "post", body)
        ch.posts[ch.last_id] = _Post(ch.last_id, at, body.get("text", ""), media)
        if media:
            self.media_posts.append((at, ch.username, ch.last_id))
        return at

    def album(self, at: datetime, ch: _Channel) -> datetime:
        gid = next(self.grouped_ids)
        caption = self.text(CAPTION_MAX)
        for i in range(self.rng.randint(2, 5)):
            ch.last_id += 1
            body: dict[str, Any] = {"channel": ch.username, "id": ch.last_id,
                                    "grouped_id": gid, "media": self.media(photo=True),
                                    "views": self.rng.randrange(10, 50_000)}
            if i == 0:
                body["text"] = caption
            self.add(at, "post", body)
            ch.posts[ch.last_id] = _Post(ch.last_id, at, body.get("text", ""), True, gid)
            self.media_posts.append((at, ch.username, ch.last_id))
            at += timedelta(seconds=1)
        return at

    def media(self, photo: bool = False) -> dict[str, Any]:
        kind = "photo" if photo else self.rng.choice(("photo", "video", "document", "voice",
                                                      "audio", "animation"))
        out: dict[str, Any] = {"kind": kind, "size": self.rng.randrange(1000, 50_000_000)}
        if kind in ("video", "voice", "audio", "animation"):
            out["duration"] = round(self.rng.uniform(1, 600), 1)
        if kind in ("photo", "video"):
            out["width"], out["height"] = 1280, 720
        if kind == "document":
            out["file_name"] = self.rng.choice(("report.pdf", "список <1>.xlsx", "карта.zip"))
            out["mime_type"] = "application/octet-stream"
        return out

    def recent(self, ch: _Channel, at: datetime) -> list[_Post]:
        return [p for p in ch.posts.values() if at - p.date < EDITABLE_FOR]

    def edit(self, at: datetime, ch: _Channel) -> None:
        candidates = [p for p in self.recent(ch, at) if p.text or p.media]
        if not candidates:
            return
        p = self.rng.choice(candidates)
        limit = CAPTION_MAX if p.media else TEXT_MAX
        new = self.text(limit)
        if new == p.text:
            new = (new + " (upd)") if utf16_len(new) + 6 <= limit else "upd"
        body: dict[str, Any] = {"channel": ch.username, "id": p.id, "text": new}
        if self.rng.random() < 0.2:
            body["entities"] = self.entities(new)
        self.add(at, "edit", body)
        p.text = new

    def delete(self, at: datetime, ch: _Channel) -> None:
        candidates = self.recent(ch, at)
        if not candidates:
            return
        first = self.rng.choice(candidates)
        ids = [first.id]
        if first.grouped is not None:
            ids = [p.id for p in candidates if p.grouped == first.grouped]
        elif self.rng.random() < 0.2 and len(candidates) > 1:
            ids.append(self.rng.choice([p.id for p in candidates if p.id != first.id]))
        self.add(at, "delete", {"channel": ch.username, "ids": sorted(set(ids))})
        for i in ids:
            ch.posts.pop(i, None)
            self.deleted_at.setdefault((ch.username, i), at)

    def views(self, at: datetime, ch: _Channel) -> None:
        if not ch.posts:
            return
        p = self.rng.choice(list(ch.posts.values()))
        body: dict[str, Any] = {"channel": ch.username, "id": p.id,
                                "views": self.rng.randrange(100, 1_000_000)}
        if self.rng.random() < 0.5:
            body["reactions"] = {"👍": self.rng.randrange(1000), "🔥": self.rng.randrange(500)}
        self.add(at, "views", body)

    # ---- people ----

    def command(self, person: _Person, in_group: bool) -> str:
        rng = self.rng
        live = [c for c in self.channels if not c.private] or self.channels
        ch = rng.choice(live).username
        place = rng.choice(PLACES)
        rule = rng.choice((
            place, f"{place} OR {rng.choice(PLACES)}", f'"{rng.choice(WORDS)} {place}"',
            f"{rng.choice(WORDS)[:4]}*", "#сводка", f"from:{ch}", r"/\d+ БПЛА/",
            f"-реклама {place}", f"({place} OR {rng.choice(PLACES)}) {rng.choice(WORDS)}",
            "(Курск", "OR", "/[/", "x" * 600))
        clock = f"{rng.randrange(24):02d}:{rng.choice((0, 15, 30, 45)):02d}"
        commands = [
            ("/start", 3), ("/help", 1), (f"/help {rng.choice(('digest', 'rules', 'x'))}", 1),
            ("/channels", 2), (f"/subscribe {ch}", 5), (f"/unsubscribe {ch}", 1),
            ("/subscribe nosuchchannel", 1), (f"/alert {rule}", 6), (f"/test {rule}", 2),
            ("/alerts", 2), (f"/unalert {rng.randint(1, 3)}", 1), ("/unalert x", 1),
            (f"/edits {rng.choice(('on', 'off'))}", 2), ("/digest", 2),
            (f"/digest {clock}", 4),
            (f"/digest {clock} {rng.choice(('mon,wed', 'mon-fri', 'sat,sun', 'daily'))}", 1),
            ("/digest now", 4), ("/digest off", 1), ("/digest on", 1), ("/digest 25:99", 1),
            ("/export", 2), (f"/export jsonl @{ch} 30d deleted", 1), ("/export 12h csv", 1),
            ("/export since 2024-03-01", 1), ("/export 0d", 1), ("/export @nosuchchannel", 1),
            (f"/timezone {rng.choice(ZONES)}", 3), ("/timezone", 1), ("/timezone Mars/Base", 1),
            (f"/mute {rng.choice(('30m', '2h', '1d', '1h30m'))}", 2), ("/mute", 1),
            ("/mute soon", 1), ("/mute 99999999d", 1), ("/unmute", 2), ("/status", 1),
            ("/users", 1),
            (f"/allow {rng.choice(self.people).id}", 1), (f"/deny {rng.choice(self.people).id}", 1),
            (f"/watch {rng.choice(self.channels).username}", 2), (f"/unwatch {ch}", 1),
            ("/watch not a name", 1), (f"/find {rng.choice(('Легион', 'soak', 'Рыбарь'))}", 1),
            ("/nosuchcommand", 1), ("hello there", 1)]
        texts, weights = zip(*commands, strict=True)
        text = rng.choices(texts, weights=weights)[0]
        if in_group and text.startswith("/") and rng.random() < 0.5:
            head, _, rest = text.partition(" ")
            text = f"{head}@{BOT_USERNAME}" + (f" {rest}" if rest else "")
        later = self.later_rng
        if later.random() < WEBHOOK_SHARE:
            # no address tgmon could reach here: the status, a refused private address
            # (TGMON_WEBHOOK_PRIVATE is off), a malformed one, and off
            text = later.choice(("/webhook", "/webhook off", "/webhook http://127.0.0.1:9/x",
                                 "/webhook not-a-url"))
            if in_group and later.random() < 0.5:
                text = text.replace("/webhook", f"/webhook@{BOT_USERNAME}", 1)
        return text

    def press(self, at: datetime, person: _Person) -> None:
        rng = self.rng
        data = rng.choice((f"sub:{rng.choice(self.channels).id}",
                           f"unsub:{rng.choice(self.channels).id}",
                           f"unalert:{rng.randint(1, 6)}", f"readd:{rng.randint(1, 6)}",
                           f"held:{rng.randint(1, 50)}"))
        self.add(at, "press", {"from": person.id, "data": data})

    def follow_up(self, at: datetime, person: _Person, text: str,
                  chat: int | None) -> None:
        """Sometimes press a button the answer to ``text`` is likely to carry (its Undo,
        a channel's Subscribe), a little later."""
        name, _, arg = text.partition(" ")
        name = name.split("@")[0]
        by_name = {c.username: c for c in self.channels}
        data = None
        if name == "/alert":
            self.rules_added += 1
            data = f"unalert:{self.rules_added}"
        elif name in ("/subscribe", "/unsubscribe") and arg in by_name:
            data = f"{'unsub' if name == '/subscribe' else 'sub'}:{by_name[arg].id}"
        elif name == "/channels":
            data = f"sub:{self.rng.choice(self.channels).id}"
        elif name == "/find" and person.admin:
            ch = self.rng.choice(self.channels)
            data = f"watch:{ch.id}:{ch.username}"
        if data is None or self.rng.random() < 0.5:
            return
        body: dict[str, Any] = {"from": person.id, "data": data}
        if chat is not None:
            body["chat"] = chat
        self.add(at + timedelta(seconds=self.rng.randint(20, 90)), "press", body)

    def message(self, at: datetime) -> None:
        person = self.rng.choice(self.people)
        groups = [g for g in self.groups if person.id in g["members"]]
        chat = None
        if groups and self.rng.random() < 0.25:
            chat = self.rng.choice(groups)["id"]
        elif self.rng.random() < 0.05:
            self.press(at, person)
            return
        text = self.command(person, chat is not None)
        body: dict[str, Any] = {"from": person.id, "text": text}
        if chat is not None:
            body["chat"] = chat
        self.add(at, "message", body)
        self.follow_up(at, person, text, chat)

    # ---- faults ----

    def plan_faults(self, last: datetime) -> list[tuple[datetime, dict[str, Any]]]:
        """Faults at random moments between start and ``last``; app_down never overlaps."""
        rng = self.rng
        span = (last - self.start).total_seconds()
        down: list[tuple[datetime, datetime]] = []
        out = []
        for i in range(rng.randint(1, 3 + 3 * self.days)):
            kind = FAULT_KINDS[i] if i < len(FAULT_KINDS) and rng.random() < 0.5 \
                else rng.choice(FAULT_KINDS)
            at = self.start + timedelta(seconds=rng.uniform(60, span))
            body = self.fault(kind, at, last, down)
            if body is not None:
                out.append((at, body))
        if rng.random() < ENDING_SHARE:
            at = self.start + timedelta(seconds=rng.uniform(0.6 * span, span))
            out.append((at, {"kind": rng.choice(ENDINGS), "client": rng.choice(("user", "bot"))}))
        return sorted(out, key=lambda pair: pair[0])

    def fault(self, kind: str, at: datetime, last: datetime,
              down: list[tuple[datetime, datetime]]) -> dict[str, Any] | None:
        rng = self.rng
        client = rng.choice((None, "user", "bot"))
        body: dict[str, Any] = {"kind": kind}
        if kind == "drop_updates":
            body["until"] = _iso(min(at + timedelta(minutes=rng.uniform(1, 40)), last))
        elif kind == "disconnect":
            body["seconds"] = rng.choice((5, 30, 120, 600))
        elif kind == "unreachable":
            body["seconds"] = rng.choice((20, 120, 900, 3600))
        elif kind == "flood_wait":
            client = client or rng.choice(("user", "bot"))
            body["method"] = rng.choice(FAULT_METHODS[client])
            body["seconds"] = rng.choice((3, 30, 300, 900))
        elif kind == "app_down":
            until = min(at + timedelta(minutes=rng.choice((5, 30, 90, 400, 600))), last)
            if until <= at or any(a <= until and at <= b for a, b in down):
                return None
            down.append((at, until))
            body["until"] = _iso(until)
        elif kind in ("block_bot", "unblock_bot"):
            body["user"] = rng.choice(self.people).id
        elif kind == "channel_private":
            if rng.random() < 0.5 or len(self.channels) < 2:
                return None                 # rare: a channel gone is the end of its story
            body["channel"] = rng.choice(self.channels).username
        elif kind == "username_change":
            body["channel"] = rng.choice(self.channels).username
            body["to"] = None if rng.random() < 0.2 else self.fresh_name("renamed")
        if client is not None and kind in ("drop_updates", "disconnect", "unreachable",
                                           "flood_wait"):
            body["client"] = client
        return body

    # ---- the whole day ----

    def play(self) -> None:
        rng = self.rng
        last = self.end - QUIET_TAIL
        faults = self.plan_faults(last)
        by_name = {c.username: c for c in self.channels}
        # People start the bot early; the rest of the day happens at random moments.
        t = self.start + timedelta(minutes=rng.uniform(1, 20))
        for p in self.people:
            if rng.random() < 0.9:
                self.add(t, "message", {"from": p.id, "text": "/start"})
                t += timedelta(seconds=rng.randint(5, 120))
        per_hour = 2 + 10 * self.busy
        while True:
            t += timedelta(seconds=rng.expovariate(per_hour / 3600) + 1)
            while faults and faults[0][0] <= t:
                at, body = faults.pop(0)
                self.add(at, "fault", body)
                if body["kind"] == "channel_private":
                    by_name[body["channel"]].private = True
            if t >= last:
                break
            roll = rng.random()
            ch = rng.choice(self.channels)
            if roll < 0.45:
                t = self.post(t, ch)
            elif roll < 0.55:
                self.edit(t, ch)
            elif roll < 0.62:
                self.delete(t, ch)
            elif roll < 0.67:
                self.views(t, ch)
            else:
                self.message(t)
        for at, body in faults:
            self.add(at, "fault", body)
        self.expire_file_references(last)

    def expire_file_references(self, last: datetime) -> None:
        """Some media posts' file references expire while the post still exists (tgmon
        must read the post again for a fresh one)."""
        rng = self.later_rng
        for at, channel, mid in self.media_posts:
            if rng.random() >= FILE_REFERENCE_SHARE:
                continue
            when = at + timedelta(seconds=rng.uniform(1, 3600))
            gone = self.deleted_at.get((channel, mid))
            if when < last and (gone is None or when < gone):
                self.add(when, "fault", {"kind": "file_reference_expired",
                                         "channel": channel, "id": mid})

    def scenario(self) -> dict[str, Any]:
        self.setup()
        channels = self.history()
        self.play()
        self.events.sort(key=lambda e: e["at"])   # stable: a burst keeps its order
        users = []
        for p in self.people:
            user: dict[str, Any] = {"id": p.id, "first_name": p.name}
            if p.username:
                user["username"] = p.username
            users.append(user)
        return {"start": _iso(self.start), "end": _iso(self.end), "settings": self.settings,
                "channels": channels, "users": users, "groups": self.groups,
                "events": self.events}


def _edges(text: str) -> set[int]:
    """The UTF-16 offsets between characters (an entity may not split a surrogate pair)."""
    units = 0
    edges = {0}
    for ch in text:
        units += 2 if ord(ch) > 0xFFFF else 1
        edges.add(units)
    return edges


def generate(seed: int, *, days: int | None = None, channels: int | None = None,
             busy: float | None = None) -> dict[str, Any]:
    """The scenario of ``seed`` (a JSON-like dict). ``days`` (1-3), ``channels`` (1-8)
    and ``busy`` (0-1, how much happens per hour) fix what the seed would otherwise
    choose, for small runs."""
    return _Day(random.Random(seed), days=days, channels=channels, busy=busy).scenario()
