"""One typed settings object, read from ``TOWNOPS_*`` environment variables.

Loud on a bad value: pydantic-settings raises at start-up rather than at first use.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_PATH = Path("var/townops.db")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOWNOPS_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB_PATH}",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    town_dir: Path | None = Field(
        default=None, description="Town configuration directory; default: the packaged Gaohang."
    )
    secret_key: str | None = Field(
        default=None,
        description="Key that signs bearer tokens; default: one generated once and kept in the "
        "database, so every worker process and restart shares it.",
    )
    token_ttl_minutes: int = Field(default=720, gt=0, description="Bearer token lifetime.")
    page_size_max: int = Field(default=200, gt=0, description="Largest page a list may return.")
    # Hostile input (townops.api.limits): refused before it is read in full or parsed.
    max_body_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description="Largest request body (JSON, forms); larger is a 413 before it is read.",
    )
    max_upload_bytes: int = Field(
        default=11 * 1024 * 1024,
        gt=0,
        description="Largest multipart body (photo and file uploads; a photo itself may be "
        "at most 10 MiB, checked by the media service).",
    )
    max_json_depth: int = Field(
        default=64, gt=0, description="Deepest nesting of arrays and objects in a JSON body."
    )
    resident_cases_per_day: int = Field(
        default=20,
        ge=0,
        description="Cases one resident may file in any 24 hours (429 past it); 0: no limit.",
    )
    # Read by townops.classifier.model.load_default (which also runs outside a server).
    classifier_path: Path | None = Field(
        default=None,
        description="This installation's retrained classifier model (written by `townops "
        "classifier retrain`); default: the model shipped in the package.",
    )
    # An optional background of map tiles under the town's GeoJSON (docs/web.md). Never
    # required: without them the map is drawn on a plain background.
    map_tile_url: str | None = Field(
        default=None,
        description="Tile URL template with {z}, {x}, {y} (web-mercator XYZ), on the town's "
        "own network, e.g. http://tiles.town.lan/{z}/{x}/{y}.png; its origin is added to "
        "the pages' Content-Security-Policy.",
    )
    map_tile_dir: Path | None = Field(
        default=None,
        description="A folder of tiles (Z/X/Y.png|.jpg|.webp) that townops serves itself at "
        "/map-tiles/; used when map_tile_url is not set.",
    )
    map_tile_max_zoom: int = Field(default=18, ge=0, le=22)
    map_tile_attribution: str = Field(default="", description="Shown under the map.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
