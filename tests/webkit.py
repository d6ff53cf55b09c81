"""Testing ``tgmon serve`` in a real browser: Debian's Chromium (``/usr/bin/chromium``,
which ``.ci/run`` installs) driven by Playwright, which never downloads a browser of its
own here.

- :func:`simulated_day`: the log of ``tgmon run --simulate`` (the built-in day), made in
  a child process.
- :func:`serving`: ``tgmon serve`` on that log, as a child process on a free port.
- :func:`browser`: a headless Chromium page; the test is skipped, saying why, when there
  is no Chromium or no Playwright (``.ci/run`` sets ``TGMON_REQUIRE_BROWSER=1``, which
  turns that skip into a failure, so CI never skips them quietly).

``python tests/webkit.py docs`` refreshes the screenshots in docs/ (docs/web.md).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# As this machine's notes say Chromium must run here: no sandbox as root, no GPU, and
# none of its background traffic (the network is closed), with a fresh profile.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TGMON_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def simulated_day(where: Path) -> Path:
    """``tgmon run --simulate`` in ``where``; the path of the log it wrote."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "bot", "run", "--simulate"], cwd=where,
                          env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    path = where / "data" / "simulation.db"
    assert path.exists()
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(db: Path, *args: str, password: str | None = None) -> Iterator[str]:
    """``tgmon serve --db DB`` until the block ends; yields its base URL."""
    port = free_port()
    extra = {"TGMON_WEB_PASSWORD": password} if password else {}
    child = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--db", str(db), "--port", str(port), *args],
        cwd=db.parent, env=_env(**extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if child.poll() is not None:
                raise AssertionError(f"tgmon serve ended: {child.stderr.read().decode()}"
                                     if child.stderr else "tgmon serve ended")
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=5)
                break
            except urllib.error.HTTPError:
                break                       # it answers (401 with a password)
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("tgmon serve did not answer within 60 s") from None
                time.sleep(0.2)
        yield base
    finally:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return ("needs Debian's Chromium at /usr/bin/chromium: apt-get install chromium "
                "chromium-driver (.ci/run does)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "needs Playwright: pip install -e '.[dev]'"
    return None


def require_browser() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("TGMON_REQUIRE_BROWSER"):
        pytest.fail(reason + " (TGMON_REQUIRE_BROWSER is set)")
    pytest.skip(reason)


@contextmanager
def browser(**context: Any) -> Iterator[Any]:
    """A Playwright page in headless Debian Chromium with a fresh profile."""
    require_browser()
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="tgmon-chromium-")
    try:
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1200, "height": 900}, **context)
            try:
                yield ctx.pages[0] if ctx.pages else ctx.new_page()
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# ---- the screenshots in docs/ ---------------------------------------------------------

SHOTS = {
    "web-posts.png": "/tgmon/post_log?_search=%D1%82%D0%B5%D1%82%D0%BA%D0%B8%D0%BD%D0%BE",
    "web-rule.png": "/tgmon/rule?rule=%D0%A2%D1%91%D1%82%D0%BA%D0%B8%D0%BD%D0%BE+OR+Tyotkino"
                    "&since=2024-03-01&until=2024-03-13",
}


def screenshots(db: Path, out: Path, deleted_post: int,
                edited_post: int | None = None) -> list[Path]:
    """Screenshots of the main pages of ``tgmon serve`` on ``db`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    pages = {"web-home.png": "/tgmon", **SHOTS,
             "web-deleted-post.png": f"/tgmon/posts/{deleted_post}"}
    if edited_post is not None:
        pages["web-edited-post.png"] = f"/tgmon/posts/{edited_post}"
    made = []
    with serving(db) as base, browser() as page:
        for name, path in pages.items():
            page.goto(base + path)
            page.screenshot(path=str(out / name), full_page=name != "web-home.png")
            made.append(out / name)
    return made


if __name__ == "__main__":
    import sqlite3

    target = ROOT / (sys.argv[1] if len(sys.argv) > 1 else "docs")
    with tempfile.TemporaryDirectory() as tmp:
        log = simulated_day(Path(tmp))
        with sqlite3.connect(log) as conn:
            [(deleted,)] = conn.execute("SELECT id FROM posts WHERE deleted_at IS NOT NULL "
                                        "ORDER BY id LIMIT 1").fetchall()
            [(edited,)] = conn.execute("SELECT id FROM posts WHERE version > 1 "
                                       "ORDER BY id LIMIT 1").fetchall()
        for made in screenshots(log, target, deleted, edited):
            print(made)
