"""The design's layering, checked on the source: no import cycles among the modules of
bot/, config/ and storage/; storage/ and config/ import nothing from bot/; Telethon is
imported only in bot/telegram/ (the edge) and bot/sim/ (the simulated Telegram).

The import graph is read statically (every ``import`` and ``from ... import``, at the
top of a module or inside a function). Imports under ``if TYPE_CHECKING:`` never run,
so they do not count as edges of a cycle; for the Telethon and bot/ rules they count
like any other.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "config", "storage")
TELETHON_ALLOWED = ("bot.telegram", "bot.sim")


@dataclass
class Graph:
    runs: dict[str, set[str]] = field(default_factory=dict)      # edges that run
    typing: dict[str, set[str]] = field(default_factory=dict)    # TYPE_CHECKING only
    external: dict[str, set[str]] = field(default_factory=dict)  # module -> top packages

    def all_edges(self, module: str) -> set[str]:
        return self.runs.get(module, set()) | self.typing.get(module, set())


def _modules(root: Path) -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                hidden |= {id(n) for n in ast.walk(child)}
    return hidden


def import_graph(root: Path) -> Graph:
    modules = _modules(root)

    def ours(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = Graph()
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        hidden = _type_checking_nodes(tree)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                # ``from pkg import submodule`` imports the submodule
                subs = [f"{base}.{a.name}" for a in node.names]
                names = [n for n in subs if n in modules] or [base]
            else:
                continue
            edges = graph.typing if id(node) in hidden else graph.runs
            for name in names:
                target = ours(name)
                if target is None:
                    graph.external.setdefault(module, set()).add(name.split(".")[0])
                elif target != module:
                    edges.setdefault(module, set()).add(target)
    return graph


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def violations(root: Path) -> list[str]:
    graph = import_graph(root)
    out = [f"import cycle: {' -> '.join(c)}" for c in cycles(graph.runs)]
    for module in sorted(set(graph.runs) | set(graph.typing)):
        if module.split(".")[0] in ("storage", "config"):
            for target in sorted(graph.all_edges(module)):
                if target.split(".")[0] == "bot":
                    out.append(f"{module} imports {target}: storage/ and config/ import "
                               "nothing from bot/")
    for module, packages in sorted(graph.external.items()):
        allowed = any(module == p or module.startswith(p + ".") for p in TELETHON_ALLOWED)
        if "telethon" in packages and not allowed:
            out.append(f"{module} imports telethon: only bot/telegram/ and bot/sim/ may")
    return out


def test_the_code_keeps_its_layers():
    assert violations(ROOT) == []


def test_the_edge_holds_telegram_and_every_module_is_read():
    graph = import_graph(ROOT)
    users = {m for m, p in graph.external.items() if "telethon" in p}
    assert "bot.telegram.records" in users and "bot.sim.world" in users
    assert "bot.runtime" in graph.runs and "storage.db" in graph.runs


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    root = _tree(tmp_path, {
        "bot/a.py": "from bot.b import x\n",
        "bot/b.py": "def f():\n    from bot import a\n",
        "bot/c.py": "from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from bot.d import y\n",
        "bot/d.py": "from bot.c import z\n",
    })
    assert violations(root) == ["import cycle: bot.a -> bot.b"]


def test_storage_importing_bot_and_telethon_outside_the_edge_are_found(tmp_path):
    root = _tree(tmp_path, {
        "storage/s.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                        "    from bot.x import Y\n",
        "bot/x.py": "import telethon.errors\n",
        "bot/telegram/__init__.py": "",
        "bot/telegram/t.py": "from telethon import TelegramClient\n",
        "config/c.py": "from ..bot import x\n",
    })
    assert violations(root) == [
        "config.c imports bot.x: storage/ and config/ import nothing from bot/",
        "storage.s imports bot.x: storage/ and config/ import nothing from bot/",
        "bot.x imports telethon: only bot/telegram/ and bot/sim/ may",
    ]
