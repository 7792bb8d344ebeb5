"""Reports: the survey's benchmarking template (metrics.py, tables.py), figures (plots.py) and HTML (html.py)."""
