"""``tgmon run``: the watcher, the bot and the scheduler, against Telegram or, with
``--simulate``, against the simulated Telegram on a virtual clock."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from config.errors import TgmonError
from config.settings import Settings

ORDER = 10
SIMULATION_DB = "simulation.db"
BUILTIN = ""                     # --simulate without a file: the built-in day


class MissingCredentialsError(TgmonError):
    pass


def add_parser(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "run", parents=[common], help="run the watcher, alerts and digests",
        description="Run tgmon: capture posts with every logged-in watching account (see "
                    "`tgmon login --account`), send alerts and digests. With --simulate, "
                    "play a scenario against the simulated Telegram instead (no credentials "
                    "needed; the clock runs as fast as the work allows).")
    p.add_argument("--simulate", nargs="?", const=BUILTIN, metavar="SCENARIO",
                   help="play SCENARIO (a JSON file; default: the built-in 12 March 2024 day) "
                        "against the simulated Telegram; the database defaults to "
                        f"{SIMULATION_DB} beside TGMON_DB (data/{SIMULATION_DB})")
    p.add_argument("--transcript", type=Path, metavar="FILE",
                   help="with --simulate: write every message between the bot and people "
                        "to FILE as JSON Lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.simulate is not None:
        return _simulate(args, settings)
    if args.transcript is not None:
        raise TgmonError("--transcript only works with --simulate")
    return _production(settings)


def _production(settings: Settings) -> int:
    import asyncio
    import signal

    from bot.app import App
    from bot.logs import setup_logging
    from bot.telegram.clients import telegram_client_factory
    from bot.watcher.session import SessionLock, logged_in_accounts, require_login

    if settings.api_id is None or not settings.api_hash:
        raise MissingCredentialsError(
            "tgmon run needs Telegram credentials: set TGMON_API_ID and TGMON_API_HASH "
            "(from https://my.telegram.org) in .env or the environment, and TGMON_BOT_TOKEN "
            "for the bot; to try tgmon without them, run `tgmon run --simulate`")
    make_client = telegram_client_factory(settings)       # TGMON_SERVER(_KEY) checked
    # Refuse before the network: never logged in, or another process has a session.
    accounts = logged_in_accounts(settings)
    require_login(settings.account_session(accounts[0]), accounts[0])
    for account in accounts:
        with SessionLock(settings.account_session(account)):
            pass
    setup_logging(settings.log_level, [settings.api_hash, settings.bot_token])
    app = App(settings, make_client=make_client, accounts=accounts)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(app.stop()))
        try:
            await app.run_until_stopped()
        except (ConnectionError, OSError) as e:
            raise TgmonError(f"cannot reach Telegram ({type(e).__name__}: {e}); check the "
                             "network and start tgmon again") from None

    asyncio.run(main())
    return 0


def simulation_db(log: Path) -> Path:
    """The simulation's database: beside the configured one (data/ by default, /data in
    Docker, where tgmon may write), never the same file."""
    path = log.with_name(SIMULATION_DB)
    return path.with_name("simulation-run.db") if path == log else path


def _check_transcript(path: Path | None) -> None:
    """--transcript names a file in a directory that exists (no tree is made for it)."""
    if path is None:
        return
    if path.is_dir():
        raise TgmonError(f"--transcript {path} is a directory: give a file name")
    if not path.parent.is_dir():
        raise TgmonError(f"--transcript {path}: the directory {path.parent} does not exist; "
                         "create it first or choose another place")


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.logs import setup_logging
    from bot.sim.player import play_scenario
    from bot.sim.scenario import load_scenario
    from storage.dbfile import make_private_dir

    scenario = load_scenario(None if args.simulate == BUILTIN else Path(args.simulate))
    db_path = args.db if args.db is not None else simulation_db(settings.db_path)
    _check_transcript(args.transcript)
    make_private_dir(db_path.parent, f"the simulation's database {db_path}")
    setup_logging(settings.log_level)
    _log_times_in(scenario.start.tzinfo or UTC)
    report = play_scenario(scenario, settings.replace(db_path=db_path),
                           transcript=args.transcript)
    print(report.summary())
    if report.ended is not None:              # as `tgmon run` would: the reason, status 1
        from bot.telegram.account_end import AccountEndedError
        raise AccountEndedError(report.ended)
    return 0


def _log_times_in(tz: tzinfo) -> None:
    """Log lines of a simulated run carry the scenario's clock: the virtual time in the
    scenario's zone, with its offset (+00:00 for a scenario in UTC)."""
    import logging

    def zoned(record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, tz).isoformat(" ", "milliseconds")

    for handler in logging.getLogger().handlers:
        if getattr(handler, "_tgmon", False) and handler.formatter is not None:
            handler.formatter.formatTime = zoned  # type: ignore[method-assign]
