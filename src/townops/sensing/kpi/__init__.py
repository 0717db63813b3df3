"""Sensing KPIs (感知指标): :mod:`.service` computes them (and the workbook), :mod:`.api`
serves them."""
