"""The town's base map (底图): roads, metro lines and stations drawn under its jurisdictions.

A town may ship ``basemap.geojson`` in its directory (Gaohang's is generated from
OpenStreetMap by ``townfiles/gaohang/_generate_basemap.py``). townops serves it itself, so
the maps need no tile server and no CDN; a town without one gets plain maps, as before.
The file must say whose data it is (its ``attribution`` member), and the maps show that.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from townops.settings import Settings
from townops.townfiles.loader import default_town_dir

BASEMAP_FILE = "basemap.geojson"
BASEMAP_URL = "/api/v1/web/basemap"


def basemap_path(settings: Settings) -> Path:
    return (settings.town_dir or default_town_dir()) / BASEMAP_FILE


@lru_cache(maxsize=4)
def _read(path: Path, modified: float) -> bytes:
    """The file, checked once per version of it (the modification time is in the key)."""
    data = path.read_bytes()
    collection = json.loads(data)
    if collection.get("type") != "FeatureCollection" or not collection.get("attribution"):
        raise ValueError(f"{path}: a base map is a FeatureCollection with an attribution")
    return data


def basemap_bytes(settings: Settings) -> bytes | None:
    """The town's base map as served (JSON), or None when the town has none."""
    path = basemap_path(settings)
    if not path.is_file():
        return None
    return _read(path, path.stat().st_mtime)
