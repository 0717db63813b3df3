"""Weekly case-volume forecasts and proactive suggestions (未呼先应).

``sources`` reads time-stamped requests (the cases table, NYC/SF 311 and citizen-message
CSVs); ``series`` bins them into ISO weeks; ``models`` forecasts a weekly series with a
statsmodels state-space model; ``backtest`` scores it against the seasonal-naive baseline;
``proactive`` turns forecasts well above normal into suggestions. See docs/forecast.md.
"""
