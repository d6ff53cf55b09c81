"""tgmon's Telegram side: the watcher, the bot, the simulation, app wiring and the CLI."""
