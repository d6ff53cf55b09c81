"""Which request the simulated server answers how: a table filled by the handler modules
(:mod:`.session`, :mod:`.updates`, :mod:`.channels`, :mod:`.bot`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from telethon.tl import functions

from bot.sim.model import Account, RequestRecord
from bot.sim.tl import RpcFail, method_name

if TYPE_CHECKING:
    from bot.sim.sender import SimSender
    from bot.sim.world import World


@dataclass(frozen=True)
class Call:
    """One request being answered: who asks, and the world that answers."""

    world: World
    sender: SimSender
    account: Account

    @property
    def now(self) -> datetime:
        return self.world.now()


Handler = Callable[[Call, Any], Any]
F = TypeVar("F", bound=Handler)
HANDLERS: dict[type, tuple[Handler, bool]] = {}

# Wrappers the client puts around requests; the server answers what is inside.
_WRAPPERS = (functions.InvokeWithLayerRequest, functions.InitConnectionRequest,
             functions.InvokeWithoutUpdatesRequest)


def handles(*request_types: type, auth: bool = True) -> Callable[[F], F]:
    """Register a handler; ``auth=False`` for requests allowed before logging in."""
    def register(fn: F) -> F:
        for t in request_types:
            if t in HANDLERS:
                raise RuntimeError(f"two handlers for {t.__name__}")
            HANDLERS[t] = (fn, auth)
        return fn
    return register


def dispatch(world: World, sender: SimSender, request: Any) -> Any:
    while isinstance(request, _WRAPPERS):
        request = request.query
    method = method_name(request)
    if world.keep_requests:
        world.requests.append(RequestRecord(world.now(), sender.account.id, sender.role,
                                            request))
    key = (sender.account.id, method)
    world.request_counts[key] = world.request_counts.get(key, 0) + 1
    entry = HANDLERS.get(type(request))
    if entry is None:
        raise NotImplementedError(
            f"the simulated Telegram does not answer {method} ({type(request).__name__}); "
            "add a handler under bot/sim/rpc/")
    handler, needs_auth = entry
    ended = world.ended(sender)
    if ended is not None and needs_auth:
        raise RpcFail(401, ended)
    if needs_auth and not world.authorized(sender):
        raise RpcFail(401, "AUTH_KEY_UNREGISTERED")
    world.faults.check_flood(sender.account.id, method, world.ts())
    result = handler(Call(world, sender, sender.account), request)
    world.answered[method] = world.answered.get(method, 0) + 1
    return result


def bots_only(call: Call) -> None:
    if not call.account.bot:
        raise NotImplementedError("the simulation models messages sent by the bot only "
                                  "(tgmon's user account never writes to anyone)")


def users_only(call: Call) -> None:
    if call.account.bot:
        raise RpcFail(400, "BOT_METHOD_INVALID")


def unique(objects: list[Any]) -> list[Any]:
    """TL users/chats without repeats (by id), first occurrence kept."""
    seen: dict[int, Any] = {}
    for obj in objects:
        seen.setdefault(obj.id, obj)
    return list(seen.values())
