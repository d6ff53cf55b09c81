"""Connecting and logging in: server config, bot token and phone-code login, users."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telethon.tl import functions, types

from bot.sim import render
from bot.sim.limits import CAPTION_LENGTH_MAX, MESSAGE_LENGTH_MAX
from bot.sim.rpc.registry import Call, handles
from bot.sim.tl import RpcFail


@handles(functions.help.GetConfigRequest, auth=False)
def get_config(call: Call, req: Any) -> types.Config:
    now = call.now
    return types.Config(
        date=now, expires=now + timedelta(hours=1), test_mode=False, this_dc=render.DC_ID,
        dc_options=[types.DcOption(id=render.DC_ID, ip_address="127.0.0.1", port=443)],
        dc_txt_domain_name="", chat_size_max=200, megagroup_size_max=200_000,
        forwarded_count_max=100, online_update_period_ms=210_000,
        offline_blur_timeout_ms=5_000, offline_idle_timeout_ms=30_000,
        online_cloud_timeout_ms=300_000, notify_cloud_delay_ms=30_000,
        notify_default_delay_ms=1_500, push_chat_period_ms=60_000, push_chat_limit=2,
        edit_time_limit=172_800, revoke_time_limit=172_800, revoke_pm_time_limit=172_800,
        rating_e_decay=2_419_200, stickers_recent_limit=200, channels_read_media_period=604_800,
        call_receive_timeout_ms=20_000, call_ring_timeout_ms=90_000,
        call_connect_timeout_ms=30_000, call_packet_timeout_ms=10_000, me_url_prefix="https://t.me/",
        caption_length_max=CAPTION_LENGTH_MAX, message_length_max=MESSAGE_LENGTH_MAX,
        webfile_dc_id=render.DC_ID)


@handles(functions.auth.ImportBotAuthorizationRequest, auth=False)
def import_bot_authorization(call: Call, req: Any) -> types.auth.Authorization:
    world = call.world
    if not call.account.bot or req.bot_auth_token != world.bot_token:
        raise RpcFail(400, "ACCESS_TOKEN_INVALID")
    world.authorize(call.sender)
    return types.auth.Authorization(user=render.account(call.account, call.account))


@handles(functions.auth.SendCodeRequest, auth=False)
def send_code(call: Call, req: Any) -> types.auth.SentCode:
    if call.account.bot or req.phone_number.lstrip("+") != call.account.phone:
        raise RpcFail(400, "PHONE_NUMBER_INVALID")
    return types.auth.SentCode(type=types.auth.SentCodeTypeApp(length=len(call.world.login_code)),
                               phone_code_hash="simulated")


@handles(functions.auth.SignInRequest, auth=False)
def sign_in(call: Call, req: Any) -> types.auth.Authorization:
    if req.phone_number.lstrip("+") != call.account.phone:
        raise RpcFail(400, "PHONE_NUMBER_INVALID")
    if req.phone_code != call.world.login_code:
        raise RpcFail(400, "PHONE_CODE_INVALID")
    if call.world.two_step is not None:
        raise RpcFail(401, "SESSION_PASSWORD_NEEDED")
    call.world.authorize(call.sender)
    return types.auth.Authorization(user=render.account(call.account, call.account))


@handles(functions.account.GetPasswordRequest, auth=False)
def get_password(call: Call, req: Any) -> types.account.Password:
    two_step = call.world.two_step
    if call.account.bot or two_step is None:
        return types.account.Password(new_algo=types.PasswordKdfAlgoUnknown(),
                                      new_secure_algo=types.SecurePasswordKdfAlgoUnknown(),
                                      secure_random=b"\0" * 32, has_password=False)
    return two_step.challenge()


@handles(functions.auth.CheckPasswordRequest, auth=False)
def check_password(call: Call, req: Any) -> types.auth.Authorization:
    two_step = call.world.two_step
    if call.account.bot or two_step is None:
        raise RpcFail(400, "PASSWORD_HASH_INVALID")
    if not isinstance(req.password, types.InputCheckPasswordSRP) or \
            not two_step.check(req.password):
        raise RpcFail(400, "PASSWORD_HASH_INVALID")
    call.world.authorize(call.sender)
    return types.auth.Authorization(user=render.account(call.account, call.account))


@handles(functions.auth.LogOutRequest)
def log_out(call: Call, req: Any) -> types.auth.LoggedOut:
    call.world.sessions.pop(call.sender.auth_key.key_id, None)
    return types.auth.LoggedOut()


@handles(functions.users.GetUsersRequest)
def get_users(call: Call, req: Any) -> list[types.TypeUser]:
    world, me = call.world, call.account
    out: list[types.TypeUser] = []
    for given in req.id:
        if isinstance(given, types.InputUserSelf):
            out.append(render.account(me, me))
            continue
        uid = getattr(given, "user_id", None)
        if uid in world.accounts:
            out.append(render.account(world.accounts[uid], me))
            continue
        try:
            out.append(render.person(world.input_person(me, given), me))
        except RpcFail:
            continue                    # Telegram leaves out users it cannot show
    return out
