"""When a channel has gone quiet "for much longer than usual".

The rule, from the log alone:

- *usual*: the 95th percentile of the pauses between a channel's consecutive posts over
  the four weeks before the digest's period (see ``storage.digest_queries``). It keeps a
  daytime channel's nightly pause as usual and ignores the odd long outage.
- The channel needs at least :data:`MIN_GAPS` such pauses, or there is no "usual" to
  compare with (a new or rarely posting channel is never called silent).
- It is *silent* when the time from its latest post to the end of the period is at least
  :data:`FACTOR` times its usual pause and at least :data:`MIN_SILENCE`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.digest_queries import ChannelActivity

MIN_GAPS = 10
FACTOR = 2
MIN_SILENCE = timedelta(hours=6)


def silence(activity: ChannelActivity, end: datetime) -> timedelta | None:
    """How long the channel has been silent at ``end`` if that is much longer than
    usual, else None."""
    if activity.last_post is None or activity.usual_gap is None or activity.gaps < MIN_GAPS:
        return None
    quiet = end - activity.last_post
    if quiet >= max(FACTOR * activity.usual_gap, MIN_SILENCE):
        return quiet
    return None
