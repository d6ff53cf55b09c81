"""Importing Telegram Desktop JSON exports into the log.

- :mod:`storage.imports.jsonstream`: a JSON reader that streams big files.
- :mod:`storage.imports.reader`: finds the chats of an export (one chat or a whole account).
- :mod:`storage.imports.desktop`: pure parsing of messages into :class:`~storage.models.Post`.
- :mod:`storage.imports.store`: stores one file in one transaction.
"""
