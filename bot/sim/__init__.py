"""The simulated Telegram: the real application and Telethon's real client against an
in-process model of Telegram's servers, on a virtual clock.

* :mod:`.vclock` — the virtual-time event loop and :func:`~.vclock.run_simulated`;
* :mod:`.world` (+ :mod:`.activity`, :mod:`.model`, :mod:`.render`, :mod:`.limits`) — the
  server's state, what happens in it, limits and faults;
* :mod:`.sender` — the stand-in for Telethon's MTProto sender (the seam), and
  :mod:`.rpc` — how each request is answered, with TL objects (:mod:`.tl`);
* :mod:`.scenario` / :mod:`.scenario_events` — scenario files; :mod:`.build` and
  :mod:`.player` — playing one through :class:`bot.app.App`; :mod:`.transcript`.

``tgmon run --simulate`` plays the built-in day (``scenarios/2024-03-12.json``); tests
drive the same simulation through ``tests/simkit.py``.
"""
