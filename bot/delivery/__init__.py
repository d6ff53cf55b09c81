"""Everything the bot sends goes through the durable outbox and one rate-limited sender."""
