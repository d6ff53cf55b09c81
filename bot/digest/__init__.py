"""Digests: what a subscriber's channels posted, edited and deleted in a period.

- ``storage.digest_queries.gather_material``: the period's raw material (SQL aggregates);
- :func:`bot.digest.build.build_digest`: the digest, a pure function of that material;
- ``render_telegram`` (HTML messages), ``render_text`` (terminal), ``render_html_page``
  (a web page) and ``bot.digest.chart.render_chart`` (a PNG);
- :func:`bot.digest.scheduling.compose.compose_many` does all of it for the chats due
  (one or many: the app's one pipeline);
- :mod:`bot.digest.period` says which period a digest covers.

The chart module imports matplotlib when it is called, not when this package is imported.
"""
