"""The captured-post log in SQLite. Imports neither Telethon nor anything from ``bot``."""
