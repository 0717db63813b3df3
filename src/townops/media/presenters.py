"""Photos → API output, with freshly signed URLs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from townops.media.models import Photo
from townops.media.schemas import PhotoOut, PhotoUploaded
from townops.media.service import case_photos, photo_url, url_secret


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


def present_case_photos(
    session: Session, *, case_id: int, now: datetime | None = None
) -> list[PhotoOut]:
    """The photos of one case (one query; the image bytes are not read)."""
    photos = case_photos(session, case_id=case_id)
    if not photos:
        return []
    secret = url_secret(session)
    return [
        PhotoOut(
            id=p.id,
            stage=p.stage or "",
            url=photo_url(p, "full", secret, now=now),
            thumb_url=photo_url(p, "thumb", secret, now=now),
            width=p.width,
            height=p.height,
            created_at=p.created_at,
        )
        for p in photos
    ]
