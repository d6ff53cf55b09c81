"""The suite on a clone with nothing beside it: no ``../shared``, nothing read while
collecting, and the tests that need it skipped with a reason naming what is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.exportkit import ROOT


def bare_clone(tmp_path: Path) -> Path:
    """The project's code and tests under ``tmp_path/clone``, with no ``../shared``."""
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("bot", "config", "storage", "bench", "docs", "README.md", ".ci"):
        (clone / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "tests", clone / "tests",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", clone)
    assert not (clone.parent / "shared").exists()
    return clone


def pytest_in(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k != "TGMON_REQUIRE_SHARED" and not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=clone, env=env, capture_output=True, text=True, timeout=600)


def test_collection_reads_nothing_beside_the_clone(tmp_path):
    done = pytest_in(bare_clone(tmp_path), "--collect-only", "-q")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ERROR" not in done.stdout and "Error" not in done.stdout


def test_tests_needing_shared_skip_saying_what_is_missing(tmp_path):
    clone = bare_clone(tmp_path)
    done = pytest_in(clone, "-rs", "tests/test_import.py",
                     "tests/test_rules_match.py::test_real_posts_ruleset_agrees_with_rules_alone",
                     "-k", "real")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "failed" not in done.stdout and "ERROR" not in done.stdout
    assert "SKIPPED" in done.stdout
    assert "needs ../shared/fixtures/telegram-desktop-export/public_channel_excerpt.json" \
        in done.stdout
    assert "needs ../shared/data/ru-news-posts-2024/posts.jsonl" in done.stdout
    # CI with ../shared beside it must not skip them quietly
    env_done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_import.py",
         "-k", "real_exports_import"], cwd=clone, capture_output=True, text=True,
        env={**os.environ, "TGMON_REQUIRE_SHARED": "1"}, timeout=600)
    assert env_done.returncode == 1 and "TGMON_REQUIRE_SHARED is set" in env_done.stdout
