"""KPIs computed by SQL aggregation over the cases, their route and XLSX export.

What other domains may use of it is re-exported here (``__all__``); they import
``townops.kpi``, never its modules (the ``protected`` contracts of .importlinter).
"""

from townops.kpi.figures import Grouping, return_rate_basis
from townops.kpi.service import KpiRow, PeriodOut, compute_kpis

__all__ = ["Grouping", "KpiRow", "PeriodOut", "compute_kpis", "return_rate_basis"]
