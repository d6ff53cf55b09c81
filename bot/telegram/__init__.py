"""Telegram at the edge: everything outside the simulation that imports Telethon.

- :mod:`.clients`: the clients and how they are built; :mod:`.servers`: which server;
- :mod:`.records`: Telethon's objects as tgmon's own records (posts, channels);
- :mod:`.history`, :mod:`.requests`, :mod:`.live`: what the watcher reads and asks;
- :mod:`.send`, :mod:`.bot_events`: what the bot sends and receives;
- :mod:`.errors`: Telegram's errors classified into what tgmon does about them (wait,
  retry, drop the chat, stop the account); :mod:`.account_end`, :mod:`.account_watch`:
  Telegram ending an account; :mod:`.login`: ``tgmon login``.

The rest of tgmon calls these functions on tgmon's own types; ``tests/test_layering.py``
keeps Telethon here (and in ``bot/sim/``).
"""
