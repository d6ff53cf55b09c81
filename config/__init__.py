"""Settings and the default channel list. Imports nothing from ``bot``."""
