"""``python -m bot`` is the ``tgmon`` command."""

import sys

from bot.cli import main

sys.exit(main())
