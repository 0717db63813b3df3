"""Notifications (通知): tell the right person, on their channel, exactly once.

What other packages may use of it: the demo silences it while it replays a year, then
backfills what the holders of the open cases would have been told.
"""

from townops.notify.service import backfill_open_cases, silence

__all__ = ["backfill_open_cases", "silence"]
