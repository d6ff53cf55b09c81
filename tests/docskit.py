"""Reading the project's Markdown (README.md, docs/*.md, bench/README.md) for the tests
that keep it true: fenced blocks, inline code, tables, headings and links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@dataclass(frozen=True)
class Block:
    """A fenced block: ``info`` is what follows the opening backticks
    (``python runnable``, ``sh``, ``json scenario``)."""

    path: Path
    line: int                  # 1-based line of the opening fence
    info: str
    text: str

    @property
    def lang(self) -> str:
        return self.info.split()[0] if self.info else ""

    @property
    def where(self) -> str:
        return f"{rel(self.path)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    found, info, start, body = [], None, 0, []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if line.startswith("```"):
            if info is None:
                info, start, body = line[3:].strip(), n, []
            else:
                found.append(Block(path, start, info, "\n".join(body) + "\n"))
                info = None
        elif info is not None:
            body.append(line)
    assert info is None, f"{rel(path)}:{start}: a fenced block is never closed"
    return found


def prose(path: Path) -> str:
    """The file without its fenced blocks."""
    out, fence = [], False
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("```"):
            fence = not fence
            continue
        out.append("" if fence else line)
    return "\n".join(out)


_CODE = re.compile(r"(`+)(.+?)\1", re.S)


def inline_code(path: Path) -> Iterator[str]:
    """Every inline code span outside fenced blocks, table escapes (``\\|``) undone."""
    for m in _CODE.finditer(prose(path)):
        yield m.group(2).strip().replace("\\|", "|").replace("\n", " ")


def table_after(path: Path, header: str) -> list[list[str]]:
    """The rows (cells stripped) of the first table whose header row starts with
    ``header`` (e.g. ``"| variable |"``)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for i, line in enumerate(lines):
        if line.startswith(header):
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                cells = re.split(r"(?<!\\)\|", row.strip())[1:-1]
                rows.append([c.strip().replace("\\|", "|") for c in cells])
            return rows
    raise AssertionError(f"{rel(path)} has no table starting {header!r}")


def backticked(cell: str) -> list[str]:
    return [m.group(2) for m in _CODE.finditer(cell)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in prose(path).split("\n"):
        m = re.match(r"#{1,6} (.+)", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def links(path: Path) -> Iterator[str]:
    yield from (m.group(1) for m in _LINK.finditer(prose(path)))
