"""Reports written as files: the yearly city health-check (城市体检) in XLSX and PDF."""
