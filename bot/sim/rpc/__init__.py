"""The simulated server's request handlers, by area; :func:`dispatch` answers one request.

A request without a handler fails loudly, naming it: add a handler (a function decorated
with :func:`~bot.sim.rpc.registry.handles`) in the module of its area.
"""

from bot.sim.rpc import bot, channels, files, session, updates
from bot.sim.rpc.registry import HANDLERS, dispatch

__all__ = ["HANDLERS", "bot", "channels", "dispatch", "files", "session", "updates"]
