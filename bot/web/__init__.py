"""The log in a browser: ``tgmon serve`` opens it read-only in Datasette (docs/web.md).

- :mod:`bot.web.catalog`: what is served (the log's tables and views, with titles,
  descriptions, facets and canned queries); everything else is internal.
- :mod:`bot.web.guard`: the read guard on every connection Datasette opens (internal
  tables unreadable, even by arbitrary SQL; nothing written).
- :mod:`bot.web.functions`: tgmon's SQL functions there (search normalisation, rules).
- :mod:`bot.web.postpage`: a post's page (versions as a diff, tombstone, media, engagement).
- :mod:`bot.web.plugin`: the Datasette plugin that wires these in.
- :mod:`bot.web.server`: building the Datasette app, the bind and password checks, serving.

Datasette is an optional extra (``pip install 'tgmon[web]'``): only this package imports
it, and only when ``tgmon serve`` runs.
"""
