"""The README and docs/ stay true: their examples run, and every command, option, bot
command, setting, file, module, export column and table they name exists.

- ```` ```python runnable ```` blocks are executed; a ``test_*`` function a block defines
  is then called with the fixtures its parameters name (``sim``, ``tmp_path``, ...).
- ```` ```json scenario ```` blocks are played through the whole app in the simulation.
- ``tgmon …`` lines of ```` ```sh ```` blocks must parse with tgmon's own argparse
  parser; inline ``tgmon …`` synopses may only name options their command has.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import re
import shlex
from pathlib import Path

import pytest
from docskit import (
    ROOT,
    Block,
    anchors,
    backticked,
    blocks,
    doc_files,
    inline_code,
    links,
    rel,
    table_after,
)

from bot.cli import build_parser
from bot.commands import all_commands
from config.settings import SPECS, Settings

DOCS = doc_files()
ALL_BLOCKS = [b for path in DOCS for b in blocks(path)]
# Pages other branches add; linked before they land.
PENDING_PAGES: set[str] = set()


def _ids(items: list[Block]) -> list[str]:
    return [b.where for b in items]


# ---- examples that run ----------------------------------------------------------

PYTHON = [b for b in ALL_BLOCKS if b.lang == "python"]
SCENARIOS = [b for b in ALL_BLOCKS if b.info == "json scenario"]


def test_the_docs_have_examples_that_run():
    assert PYTHON and SCENARIOS
    not_run = [b.where for b in PYTHON if "runnable" not in b.info.split()]
    assert not_run == [], "mark Python examples 'python runnable' so that they are run"


@pytest.mark.parametrize("block", PYTHON, ids=_ids(PYTHON))
def test_python_example_runs(block: Block, request: pytest.FixtureRequest):
    namespace: dict = {"__name__": f"docs_example_{block.line}"}
    exec(compile(block.text, block.where, "exec"), namespace)
    tests = [f for name, f in namespace.items()
             if name.startswith("test_") and inspect.isfunction(f)]
    for test in tests:
        fixtures = {p: request.getfixturevalue(p) for p in inspect.signature(test).parameters}
        test(**fixtures)


@pytest.mark.parametrize("block", SCENARIOS, ids=_ids(SCENARIOS))
def test_scenario_example_plays(block: Block, sim):
    from bot.app import default_components

    report = sim.play(json.loads(block.text), components=default_components)
    assert report.world.failures == []
    assert report.skipped == [] and report.ended is None
    assert report.captured, "the example scenario should capture posts"
    assert report.world.sent_by_bot(), "the example scenario should make the bot answer"


# ---- the command line -------------------------------------------------------------

def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _command(words: list[str]) -> tuple[list[str], argparse.ArgumentParser]:
    """The subcommand path named at the start of ``words`` (after ``tgmon``) and its
    parser: ``["rules", "test", "x"]`` -> ``(["rules", "test"], <parser>)``."""
    parser, path = build_parser(), []
    for word in words:
        sub = _subcommands(parser)
        if word not in sub:
            break
        parser, path = sub[word], [*path, word]
    return path, parser


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


def _shell_lines() -> list[tuple[str, str]]:
    out = []
    for b in ALL_BLOCKS:
        if b.lang not in ("sh", "bash", "console"):
            continue
        for n, line in enumerate(b.text.replace("\\\n", " ").split("\n"), start=1):
            for part in re.split(r"&&|;", line):     # each command of `a && b`
                part = re.sub(r"^(\$ )?(\.venv/bin/)?", "", part.strip())
                if part.startswith("tgmon "):
                    out.append((f"{b.where}+{n}", part))
    return out


SHELL = _shell_lines()


@pytest.mark.parametrize(("where", "line"), SHELL, ids=[w for w, _ in SHELL])
def test_shell_example_parses(where: str, line: str):
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    # the command ends where the shell's operators begin (> file, | head, && …)
    end = next((i for i, w in enumerate(words) if set(w) <= set("<>|&;")), len(words))
    argv = [w for w in words[1:end]]
    try:
        build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `{line}` is refused by tgmon's parser")


def test_inline_tgmon_commands_name_real_options():
    wrong = []
    for path in DOCS:
        for span in inline_code(path):
            if not span.startswith("tgmon "):
                continue
            words = span.split()[1:]
            names, parser = _command(words)
            if not names:
                wrong.append(f"{rel(path)}: `{span}`: no such command")
                continue
            unknown = sorted(set(re.findall(r"(?<![\w-])--?[a-z][a-z-]*", span))
                             - _options(parser) - {"--"})
            if unknown:
                wrong.append(f"{rel(path)}: `{span}`: {' '.join(names)} has no {unknown}")
    assert wrong == []


def test_the_readme_lists_every_command():
    rows = table_after(ROOT / "README.md", "| command | does | more |")
    listed = {" ".join(_command(backticked(r[0])[0].split()[1:])[0]) for r in rows}
    parser = build_parser()
    every = set()
    for name, sub in _subcommands(parser).items():
        nested = _subcommands(sub)
        every |= {f"{name} {n}" for n in nested} if nested else {name}
    assert listed == every


def test_readme_examples_cover_run_simulate_and_the_tests():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/tgmon run --simulate" in readme
    test_command = ("python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' "
                    "&& .venv/bin/python -m pytest")
    assert test_command in readme
    assert test_command in ci.replace("pip install -q ", "pip install "), \
        "the README's test command is the one .ci/run runs"


def test_plain_run_says_what_the_readme_says(fresh_machine, capsys):
    from bot.cli import main

    [block] = [b for b in blocks(ROOT / "README.md")
               if b.lang == "console" and b.text.startswith("$ tgmon run\n")]
    expected = block.text.split("\n", 1)[1].strip()
    assert main(["run"]) == 1
    out, err = capsys.readouterr()
    assert (out, err.strip()) == ("", expected)


def test_the_readme_is_read_in_five_minutes():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines < 250, f"README.md has {lines} lines: move reference material to docs/"


# ---- the bot ------------------------------------------------------------------------

COMMANDS = set(all_commands().commands)


def test_bot_commands_named_in_the_docs_exist():
    named = {(rel(path), m.group(1)) for path in DOCS for span in inline_code(path)
             if (m := re.match(r"/([a-z_]+)(?:\s|$)", span))}
    assert sorted(n for n in named if n[1] not in COMMANDS) == []


def test_the_readme_lists_every_bot_command():
    rows = table_after(ROOT / "README.md", "| command | who | does |")
    listed = {m.group(1) for r in rows for span in backticked(r[0])
              for m in re.finditer(r"(?:^|, )/([a-z_]+)", span)}
    assert listed == COMMANDS


# ---- settings -----------------------------------------------------------------------

def test_the_settings_table_is_the_settings():
    rows = table_after(ROOT / "README.md", "| variable | default | what |")
    defaults = Settings()
    documented = []
    for variables, default, _what in rows:
        names = backticked(variables)
        documented += names
        for name in names:
            spec = next((s for s in SPECS if s.env == name), None)
            assert spec is not None, f"README documents {name}, which is no setting"
            value = getattr(defaults, spec.name)
            shown = "" if value is None or value == frozenset() else f"`{spec.show(value)}`"
            assert default == shown, f"README gives {name} the default {default!r}, not {shown!r}"
    assert sorted(documented) == sorted(s.env for s in SPECS)


def _code_text() -> str:
    files = [p for d in ("bot", "config", "storage", "bench", "tests")
             for p in (ROOT / d).rglob("*.py")]
    return "\n".join(p.read_text(encoding="utf-8") for p in [*files, ROOT / ".ci" / "run"])


def test_every_tgmon_variable_named_in_the_docs_exists():
    settings = {s.env for s in SPECS}
    code = _code_text()
    named = {(rel(p), v) for p in DOCS for v in re.findall(r"\bTGMON_[A-Z0-9_]*[A-Z0-9]",
                                                          p.read_text(encoding="utf-8"))}
    # a variable that is no setting (the CI's, a benchmark's) must still be read somewhere
    assert sorted((p, v) for p, v in named if v not in settings and f'"{v}"' not in code) == []


# ---- files, modules, links ---------------------------------------------------------

_PATH = re.compile(r"(?:bot|config|storage|tests|bench|docs|\.ci)/[\w./-]*")
_MODULE = re.compile(r"(?:bot|config|storage)(?:\.[A-Za-z_]\w*)+")
_FILE_NAME = re.compile(r".*\.(?:session|db|py|json|jsonl|md|toml|csv|png|pem|lock)")


def test_files_named_in_the_docs_exist():
    missing = [(rel(path), span) for path in DOCS for span in inline_code(path)
               if _PATH.fullmatch(span) and not (ROOT / span).exists()]
    assert missing == []


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_modules_and_functions_named_in_the_docs_exist():
    named = {(rel(path), m.group(0)) for path in DOCS for span in inline_code(path)
             for m in [_MODULE.fullmatch(span)] if m and not _FILE_NAME.fullmatch(span)}
    assert named, "the docs name some of tgmon's modules"
    assert sorted(n for n in named if not _resolves(n[1])) == []


def test_links_between_the_pages_resolve():
    broken = []
    for path in DOCS:
        for target in links(path):
            if re.match(r"[a-z]+:", target):
                continue                        # https:, mailto:
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            name = dest.relative_to(ROOT).as_posix() if dest.is_relative_to(ROOT) else str(dest)
            if not dest.exists():
                if name not in PENDING_PAGES:
                    broken.append(f"{rel(path)}: {target}")
                continue
            if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{rel(path)}: {target} (no such heading)")
    assert broken == []


def test_every_page_under_docs_is_linked_from_the_readme():
    readme = set(links(ROOT / "README.md"))
    unlinked = [rel(p) for p in sorted((ROOT / "docs").glob("*.md"))
                if rel(p) not in readme and rel(p) not in PENDING_PAGES]
    assert unlinked == []


# ---- formats --------------------------------------------------------------------------

def test_the_export_columns_table_is_the_export():
    from storage.export import COLUMNS

    rows = table_after(ROOT / "docs" / "export.md", "| # | column | value |")
    assert [(int(r[0]), backticked(r[1])[0]) for r in rows] == list(enumerate(COLUMNS, start=1))


def test_the_tables_documented_are_the_database(tmp_path: Path):
    from storage.db import open_database

    async def schema() -> set[str]:
        db = await open_database(tmp_path / "tgmon.db")
        try:
            rows = await db.fetchall(
                "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'view')")
        finally:
            await db.close()
        virtual = [r["name"] for r in rows if "VIRTUAL TABLE" in (r["sql"] or "").upper()]
        return {r["name"] for r in rows if not r["name"].startswith("sqlite_")
                and not any(r["name"].startswith(v + "_") for v in virtual)}

    rows = table_after(ROOT / "docs" / "database.md", "| table / view | one row per |")
    documented = {name for r in rows for name in backticked(r[0])}
    assert documented == asyncio.run(schema())
