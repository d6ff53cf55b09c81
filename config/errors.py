"""The one exception type every layer raises for problems a user can fix."""


class TgmonError(Exception):
    """A problem with input or setup. The message names it and says how to fix it.

    The CLI prints the message on one line and exits non-zero, without a traceback.
    """
