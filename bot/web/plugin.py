"""The Datasette plugin of ``tgmon serve``: registered by :mod:`bot.web.server` on the
Datasette it builds (never through an entry point, so another Datasette on the same
machine is left alone).

- every connection to the log gets tgmon's SQL functions and the read guard;
- only the served tables and views have pages; the database cannot be downloaded;
- a post's row page gets its versions, tombstone, media and engagement
  (``templates/row-tgmon-posts.html``);
- post ids in lists and canned queries link to the post's page;
- ``/-/tgmon/media/SHA256`` serves a file of the media archive that the log records.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import AsgiFileDownload, NotFound
from markupsafe import Markup, escape

from bot.web import functions, postpage
from bot.web.catalog import DB_NAME, SERVED
from bot.web.guard import guard

PLUGIN = "tgmon"
# Served, but without a page of their own.
_NO_PAGE = frozenset({"posts_fts"})


@hookimpl(trylast=True)
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Any) -> None:
    # trylast: after Datasette's own functions, so that escape_fts is tgmon's.
    if database == DB_NAME:
        functions.register(conn)
        guard(conn)


@hookimpl
def permission_allowed(datasette: Any, actor: Any, action: str, resource: Any) -> bool | None:
    if action == "view-table":
        database, table = resource
        if database == DB_NAME and (table not in SERVED or table in _NO_PAGE):
            return False
    elif action == "view-database-download":
        return False
    elif action == "view-database" and resource != DB_NAME:
        return False                       # Datasette's own catalogue (_internal)
    return None


def _post_link(datasette: Any, post_id: int) -> Markup:
    href = datasette.urls.row(DB_NAME, "posts", str(post_id))
    return Markup(f'<a href="{escape(href)}">{post_id}</a>')


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str,
                datasette: Any) -> Markup | None:
    if database != DB_NAME or not isinstance(value, int):
        return None
    if (table is None and column == "post") or (table == "post_log" and column == "id"):
        return _post_link(datasette, value)
    return None


@hookimpl
def extra_template_vars(template: str, database: str | None, table: str | None,
                        view_name: str, request: Any, datasette: Any) -> Any:
    if not (view_name == "row" and database == DB_NAME and table == "posts" and request):
        return None

    async def post_page() -> dict[str, Any]:
        pks = request.url_vars.get("pks", "")
        if not str(pks).isdigit():
            return {}
        db = datasette.get_database(DB_NAME)

        async def execute(sql: str, params: Any) -> Any:
            return list(await db.execute(sql, params))

        page = await postpage.load(execute, int(pks))
        return {"tgmon_post": page}

    return post_page


async def media_file(datasette: Any, request: Any) -> AsgiFileDownload:
    """A file of the media archive, by its SHA-256, when the log records it as done and
    it lies inside the archive."""
    config = datasette.plugin_config(PLUGIN) or {}
    root = config.get("media_dir")
    sha = request.url_vars["sha256"]
    if not root:
        raise NotFound("no media archive")
    db = datasette.get_database(DB_NAME)

    async def execute(sql: str, params: Any) -> Any:
        return list(await db.execute(sql, params))

    row = await postpage.archived_file(execute, sha)
    if row is None:
        raise NotFound("no such file in the archive")
    base = Path(root).resolve()
    path = (base / str(row["path"])).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        raise NotFound("the file is not in the archive")
    return AsgiFileDownload(path, content_type=row["mime_type"] or "application/octet-stream")


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    return [(r"^/-/tgmon/media/(?P<sha256>[0-9a-f]{64})$", media_file)]
