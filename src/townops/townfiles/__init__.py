"""A town's files (YAML/GeoJSON) checked with FILE:LINE errors and written into the database.

Top layer: it may import every domain's configuration.
"""
