"""The duty roster (值班表): who is on duty in each shift, and in what order the on-duty
chain is called. Other domains use :func:`chain_at` (notifications climb it when a critical
alarm is not acknowledged; emergency command fills its roles from it)."""

from townops.duty.config import DutyConfig
from townops.duty.service import Link, Watch, chain_at, roster_of, watch_at, watches

__all__ = ["DutyConfig", "Link", "Watch", "chain_at", "roster_of", "watch_at", "watches"]
