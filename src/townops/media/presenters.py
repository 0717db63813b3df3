"""Photos → API output, with freshly signed URLs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from townops.media.models import Photo
from townops.media.schemas import PhotoOut, PhotoUploaded
from townops.media.service import case_photos, photo_url, photos_of_cases, url_secret


def present_uploaded(photo: Photo, *, secret: str, now: datetime | None = None) -> PhotoUploaded:
    return PhotoUploaded(
        id=photo.id,
        url=photo_url(photo, "full", secret, now=now),
        thumb_url=photo_url(photo, "thumb", secret, now=now),
        width=photo.width,
        height=photo.height,
        size=photo.size,
        content_type=photo.content_type,
    )


def present_photos_of_cases(
    session: Session, *, case_ids: Sequence[int], now: datetime | None = None
) -> dict[int, list[PhotoOut]]:
    """The photos of a page of cases, by case (one query), signed like every photo URL."""
    photos = photos_of_cases(session, case_ids=case_ids)
    if not photos:
        return {}
    secret = url_secret(session)
    out: dict[int, list[PhotoOut]] = {}
    for p in photos:
        if p.case_id is not None:
            out.setdefault(p.case_id, []).append(_photo_out(p, secret, now))
    return out


def _photo_out(p: Photo, secret: str, now: datetime | None) -> PhotoOut:
    return PhotoOut(
        id=p.id,
        stage=p.stage or "",
        url=photo_url(p, "full", secret, now=now),
        thumb_url=photo_url(p, "thumb", secret, now=now),
        width=p.width,
        height=p.height,
        created_at=p.created_at,
    )


def present_case_photos(
    session: Session, *, case_id: int, now: datetime | None = None
) -> list[PhotoOut]:
    """The photos of one case (one query; the image bytes are not read)."""
    photos = case_photos(session, case_id=case_id)
    if not photos:
        return []
    secret = url_secret(session)
    return [_photo_out(p, secret, now) for p in photos]
