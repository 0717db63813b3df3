"""Vital signs (动态体征): indicators computed per jurisdiction node and period.

What other domains may use of it is re-exported here (``__all__``); they import
``townops.signs``, never its modules (the ``protected`` contracts of .importlinter).
"""

from townops.signs.config import UNITS
from townops.signs.service import compute_signs, compute_signs_by_level, signs_config
from townops.signs.values import Direction, SignValue, Status

__all__ = [
    "UNITS",
    "Direction",
    "SignValue",
    "Status",
    "compute_signs",
    "compute_signs_by_level",
    "signs_config",
]
