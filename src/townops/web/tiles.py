"""The optional tile background of the maps: where tiles come from and serving a folder.

A town on an isolated network may have its own tile server, or a folder of tiles cut for
its area; either can be set (``TOWNOPS_MAP_TILE_URL`` / ``TOWNOPS_MAP_TILE_DIR``). The maps
never need them: without tiles they are drawn on a plain background.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Response
from fastapi import Path as PathParam

from townops.api.deps import SettingsDep
from townops.errors import NotFound
from townops.settings import Settings

LOCAL_PREFIX = "/map-tiles"
TILE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}

router = APIRouter(include_in_schema=False)


def tile_source(settings: Settings) -> dict[str, Any] | None:
    """What the pages need to draw tiles (``map_tiles`` of /api/v1/web/config), or None."""
    url = settings.map_tile_url
    if url is None and settings.map_tile_dir is not None:
        url = LOCAL_PREFIX + "/{z}/{x}/{y}.png"
    if url is None:
        return None
    return {
        "url": url,
        "max_zoom": settings.map_tile_max_zoom,
        "attribution": settings.map_tile_attribution,
    }


def tile_origin(settings: Settings) -> str | None:
    """The origin the browser must be allowed to load images from, when not this server."""
    if settings.map_tile_url is None:
        return None
    parts = urlsplit(settings.map_tile_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def tile_file(folder: Path, z: int, x: int, y: int, ext: str) -> Path | None:
    """The tile's file in ``folder`` if it exists; the numbers keep the path inside it."""
    if ext not in TILE_TYPES or not (0 <= x < 2**z and 0 <= y < 2**z):
        return None
    path = folder / str(z) / str(x) / f"{y}.{ext}"
    return path if path.is_file() else None


def _tile_folder(settings: SettingsDep) -> Path:
    if settings.map_tile_dir is None:
        raise NotFound("no tile folder is configured (TOWNOPS_MAP_TILE_DIR)")
    return settings.map_tile_dir


@router.get(LOCAL_PREFIX + "/{z}/{x}/{name}")
def get_tile(
    z: Annotated[int, PathParam(ge=0, le=22)],
    x: Annotated[int, PathParam(ge=0)],
    name: str,
    folder: Annotated[Path, Depends(_tile_folder)],
) -> Response:
    stem, _, ext = name.partition(".")
    if not stem.isdigit() or ext not in TILE_TYPES:
        raise NotFound("no such tile")
    # The template asks for .png; a folder cut as .jpg or .webp answers too.
    for candidate in (ext, *TILE_TYPES):
        path = tile_file(folder, z, x, int(stem), candidate)
        if path is not None:
            return Response(
                path.read_bytes(),
                media_type=TILE_TYPES[candidate],
                headers={"Cache-Control": "public, max-age=86400"},
            )
    raise NotFound("no such tile")
