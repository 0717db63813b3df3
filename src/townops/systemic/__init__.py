"""举一反三: clusters of cases on one topic at one place over weeks.

What other domains may use of it is re-exported here (``__all__``); they import
``townops.systemic``, never its modules (the ``protected`` contracts of .importlinter).
"""

from townops.systemic.settings import SystemicSettings

__all__ = ["SystemicSettings"]
