"""The forward network: who amplifies whom, for Gephi (``tgmon network``).

Nodes are channels: those in the log and the origins their posts forward, link
(``t.me/NAME``, ``t.me/c/ID``) or @mention. Edges are directed from the channel whose
post forwards, links or mentions to the channel it points at, one per kind
(``forward``, ``link``, ``mention``), with the number of posts and the first and last
post dates.

Forwards are counted by SQLite off a small index of the posts that are forwards; links
and mentions are filed when posts are stored (``post_links``, :func:`storage.links.store_links`) and
counted the same way, so a network never reads the texts; the posts stored before
``post_links`` existed are read from their texts (a ``LIKE`` prefilter), streamed.
Mentions count only usernames the log knows as channels (an @name may be a person).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import quoteattr

from storage.db import Database
from storage.ids import IN_IDS, ids_json
from storage.links import targets_in
from storage.timefmt import to_db

KINDS = ("forward", "link", "mention")


@dataclass
class Node:
    key: str                        # the channel id, or "@username" for a name alone
    label: str
    username: str | None = None
    channel_id: int | None = None
    posts: int = 0                  # its posts in the log (within the filters)
    in_log: bool = False


@dataclass
class Edge:
    source: str
    target: str
    kind: str
    count: int = 0
    first: str = ""
    last: str = ""

    def add(self, n: int, first: str, last: str) -> None:
        self.count += n
        self.first = min(self.first, first) if self.first else first
        self.last = max(self.last, last)


@dataclass(frozen=True)
class NetworkFilter:
    channel_ids: tuple[int, ...] = ()
    since: datetime | None = None
    before: datetime | None = None


@dataclass
class Network:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)


def _where(f: NetworkFilter, p: str = "") -> tuple[str, dict[str, Any]]:
    """The filter as SQL over posts (``p``: the table's alias and a dot, or nothing)."""
    clauses, params = [], {}
    if f.channel_ids:
        clauses.append(f"{p}channel_id {IN_IDS.replace('?', ':channels')}")
        params["channels"] = ids_json(f.channel_ids)
    if f.since is not None:
        clauses.append(f"{p}date >= :since")
        params["since"] = to_db(f.since)
    if f.before is not None:
        clauses.append(f"{p}date < :before")
        params["before"] = to_db(f.before)
    return (" AND ".join(clauses) or "1"), params


async def build_network(db: Database, f: NetworkFilter) -> Network:
    """The network of the posts the filter selects (deleted ones included: a forward
    that was deleted still happened)."""
    net = Network()
    where, params = _where(f)
    by_username: dict[str, int] = {}
    for r in await db.fetchall("SELECT channel_id, username, title FROM channels"):
        key = str(r[0])
        net.nodes[key] = Node(key, r[2] or r[1] or key, r[1], r[0], in_log=True)
        if r[1]:
            by_username[r[1].lower()] = r[0]
    for r in await db.fetchall("SELECT username, channel_id FROM channel_names "
                               "WHERE username IS NOT NULL"):
        by_username.setdefault(r[0].lower(), r[1])
    for r in await db.fetchall(
            f"SELECT channel_id, count(*) FROM posts WHERE {where} GROUP BY channel_id", params):
        net.nodes[str(r[0])].posts = r[1]

    # Forwards: grouped off their small index; an origin Telegram hides has only a name.
    async for r in db.stream(
            "SELECT channel_id, fwd_channel_id, fwd_name, count(*), min(date), max(date) "
            f"FROM posts INDEXED BY posts_forwards WHERE {where} "
            "AND (fwd_channel_id IS NOT NULL OR fwd_name IS NOT NULL) "
            "GROUP BY channel_id, fwd_channel_id, fwd_name", params):
        cid, origin, name = r[0], r[1], r[2]
        if origin is not None:
            target = str(origin)
            if target not in net.nodes:
                net.nodes[target] = Node(target, name or target, None, origin)
            elif name and net.nodes[target].label == target:
                net.nodes[target].label = name
        else:
            target = f"name:{name}"
            net.nodes.setdefault(target, Node(target, str(name)))
        _edge(net, str(cid), target, "forward").add(r[3], r[4], r[5])

    # Links and mentions filed when the posts were stored.
    async for r in db.stream(
            "SELECT p.channel_id, l.kind, l.target, count(*), min(p.date), max(p.date) "
            f"FROM post_links l JOIN posts p ON p.id = l.post_id WHERE {_where(f, 'p.')[0]} "
            "GROUP BY p.channel_id, l.kind, l.target", params):
        aim: str | int = int(r[2][3:]) if r[2].startswith("id:") else r[2]
        _link(net, by_username, str(r[0]), r[1], aim, r[3], r[4], r[5])

    # Posts stored before post_links existed: read from their texts.
    below_row = await db.fetchone("SELECT below FROM post_links_scan")
    below = int(below_row[0]) if below_row else 0
    if below:
        can_link = ("(p.text LIKE '%.me/%' OR p.entities LIKE '%.me/%' "
                    "OR p.entities LIKE '%\"mention\"%')")
        async for r in db.stream(
                "SELECT p.channel_id, p.date, p.text, p.entities FROM posts p "
                f"WHERE p.id <= :below AND {_where(f, 'p.')[0]} AND {can_link}",
                {**params, "below": below}, batch=2000):
            for kind, aim in set(targets_in(r[2], r[3])):
                _link(net, by_username, str(r[0]), kind, aim, 1, r[1], r[1])
    return net


def _link(net: Network, by_username: dict[str, int], source: str, kind: str,
          target: str | int, n: int, first: str, last: str) -> None:
    to = _target(net, by_username, kind, target)
    if to is not None and to != source:
        _edge(net, source, to, kind).add(n, first, last)


def _target(net: Network, by_username: dict[str, int], kind: str,
            target: str | int) -> str | None:
    if isinstance(target, int):
        key = str(target)
        net.nodes.setdefault(key, Node(key, key, None, target))
        return key
    cid = by_username.get(target)
    if cid is not None:
        key = str(cid)
        net.nodes.setdefault(key, Node(key, f"@{target}", target, cid))
        return key
    if kind == "mention":
        return None                        # an @name the log does not know as a channel
    key = f"@{target}"
    net.nodes.setdefault(key, Node(key, key, target))
    return key


def _edge(net: Network, source: str, target: str, kind: str) -> Edge:
    k = (source, target, kind)
    edge = net.edges.get(k)
    if edge is None:
        edge = net.edges[k] = Edge(source, target, kind)
    return edge


def used_nodes(net: Network, f: NetworkFilter) -> list[Node]:
    """The nodes to write: with a --channel filter, the chosen channels and what their
    edges reach; else every channel of the log and every origin."""
    if not f.channel_ids:
        return list(net.nodes.values())
    keep = {str(c) for c in f.channel_ids}
    for e in net.edges.values():
        keep.update((e.source, e.target))
    return [n for k, n in net.nodes.items() if k in keep]


# ---- writers ---------------------------------------------------------------------------

NODE_COLUMNS = ("id", "label", "username", "channel_id", "posts", "in_log")
EDGE_COLUMNS = ("source", "target", "kind", "count", "first", "last")


def node_row(n: Node) -> tuple[Any, ...]:
    return (n.key, n.label, n.username or "", "" if n.channel_id is None else n.channel_id,
            n.posts, int(n.in_log))


def edge_row(e: Edge) -> tuple[Any, ...]:
    return (e.source, e.target, e.kind, e.count, e.first, e.last)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _attr(value: object) -> str:
    """An XML attribute value: escaped, without the characters XML 1.0 forbids."""
    return quoteattr(_CONTROL.sub("", str(value)))


def gexf_lines(nodes: Iterable[Node], edges: Iterable[Edge], created: str) -> Iterator[str]:
    """GEXF 1.3 (opens in Gephi): directed, parallel edges told apart by ``kind``."""
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield ('<gexf xmlns="http://gexf.net/1.3" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:schemaLocation="http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd" '
           'version="1.3">\n')
    yield (f'  <meta lastmodifieddate={_attr(created[:10])}><creator>tgmon</creator>'
           '<description>Telegram channels: forwards, t.me links and @mentions</description>'
           '</meta>\n')
    yield '  <graph defaultedgetype="directed" mode="static">\n'
    yield '    <attributes class="node">\n'
    for i, (title, kind) in enumerate((("username", "string"), ("channel_id", "long"),
                                       ("posts", "integer"), ("in_log", "boolean"))):
        yield f'      <attribute id="{i}" title="{title}" type="{kind}"/>\n'
    yield '    </attributes>\n    <attributes class="edge">\n'
    for i, title in enumerate(("kind", "first", "last")):
        yield f'      <attribute id="{i}" title="{title}" type="string"/>\n'
    yield '    </attributes>\n    <nodes>\n'
    for n in nodes:
        values = [(0, n.username), (1, n.channel_id), (2, n.posts),
                  (3, "true" if n.in_log else "false")]
        yield (f'      <node id={_attr(n.key)} label={_attr(n.label)}><attvalues>'
               + "".join(f'<attvalue for="{i}" value={_attr(str(v))}/>'
                         for i, v in values if v is not None)
               + '</attvalues></node>\n')
    yield '    </nodes>\n    <edges>\n'
    for i, e in enumerate(edges):
        yield (f'      <edge id="{i}" source={_attr(e.source)} target={_attr(e.target)} '
               f'kind="{e.kind}" weight="{e.count}" label="{e.kind}"><attvalues>'
               f'<attvalue for="0" value="{e.kind}"/>'
               f'<attvalue for="1" value={_attr(e.first)}/>'
               f'<attvalue for="2" value={_attr(e.last)}/>'
               '</attvalues></edge>\n')
    yield '    </edges>\n  </graph>\n</gexf>\n'
