"""Photo use cases: store an upload, attach photos to a case, find one for a viewer, sign
URLs. Keyword-only, session passed in, no HTTP.

An upload is decoded and re-encoded, never kept as sent: the new JPEG carries no EXIF or
XMP (a phone photo's GPS position of a resident's home must not leave the server), is
turned upright by its EXIF orientation first, and is at most 2048 px on the long side.
"""

from __future__ import annotations

import hashlib
import hmac
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from typing import Any, Literal, cast

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    and_,
    delete,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.auth.models import AuditEntry
from townops.auth.service import signing_key
from townops.cases.access import visible_cases
from townops.cases.models import Case
from townops.db import database_key
from townops.errors import DomainError, InvalidInput, NotFound
from townops.media.models import Photo
from townops.settings import get_settings
from townops.timeutil import utcnow

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Decoding costs about 3 bytes a pixel: a 48 MP phone photo passes, a "bomb" (a small
# file that claims a huge canvas) is refused from its header, before any pixel is decoded.
MAX_PIXELS = 64_000_000
MAX_SIDE = 2048
THUMB_SIDE = 320
JPEG_QUALITY = 85
THUMB_QUALITY = 80
MAX_PER_CALL = 9
UPLOADS_PER_HOUR = 100
STAGES = ("report", "resolve", "comment")
VARIANTS = ("full", "thumb")
URL_TTL_SECONDS = 3600
# Expiry is rounded up to this grain, so a page reloaded within it gets the same URLs and
# the browser's cached image.
URL_GRAIN_SECONDS = 900
_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
_SIG_HEX = 32

Variant = Literal["full", "thumb"]


class PhotoRejected(InvalidInput):
    """An upload that is not stored; ``code`` says why (``too_large``, ``unsupported_image`` …)."""

    def __init__(self, code: str, message: str, *, status: int = 422, **details: Any) -> None:
        super().__init__(message, field="file", **details)
        self.code = code
        self.status_code = status


class TooManyUploads(DomainError):
    status_code = 429
    code = "too_many_uploads"


# --------------------------------------------------------------------------- storing


@dataclass(frozen=True)
class Encoded:
    data: bytes
    thumb: bytes
    width: int
    height: int


def store_photo(
    session: Session, *, actor: Actor, data: bytes, filename: str, now: datetime | None = None
) -> Photo:
    """Check, clean and keep one uploaded image; unattached until a case claims it."""
    now = now or utcnow()
    _check_upload_rate(session, actor=actor, now=now)
    encoded = encode_image(data, filename=filename)
    photo = Photo(
        uploader_user_id=actor.user_id,
        uploaded_by=actor.username,
        created_at=now,
        content_type="image/jpeg",
        width=encoded.width,
        height=encoded.height,
        size=len(encoded.data),
        sha256=hashlib.sha256(encoded.data).hexdigest(),
        data=encoded.data,
        thumb=encoded.thumb,
    )
    session.add(photo)
    session.flush()
    return photo


def _check_upload_rate(session: Session, *, actor: Actor, now: datetime) -> None:
    if actor.user_id is None:
        return
    recent = session.scalar(
        select(func.count(Photo.id)).where(
            Photo.uploader_user_id == actor.user_id, Photo.created_at > now - timedelta(hours=1)
        )
    )
    if (recent or 0) >= UPLOADS_PER_HOUR:
        raise TooManyUploads(
            f"at most {UPLOADS_PER_HOUR} photos an hour; try again later",
            limit=UPLOADS_PER_HOUR,
            per_seconds=3600,
        )


def encode_image(data: bytes, *, filename: str = "") -> Encoded:
    """Decode a JPEG/PNG/WebP/GIF, turn it upright, shrink it, re-encode it as JPEG."""
    name = filename[:80] or "the file"
    if not data:
        raise PhotoRejected("empty_file", f"{name} is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoRejected(
            "too_large",
            f"{name} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB",
            status=413,
            limit_bytes=MAX_UPLOAD_BYTES,
        )
    unreadable = PhotoRejected(
        "unsupported_image",
        f"{name} is not a JPEG, PNG, WebP or GIF image that can be read",
        formats=[f.lower() for f in _FORMATS],
    )
    with warnings.catch_warnings():
        # Pillow only warns below twice its own limit; a warning here is a refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(BytesIO(data), formats=_FORMATS) as source:
                _check_canvas(source, name)
                # JPEG can decode straight at a fraction of its size: less memory and time.
                source.draft("RGB", (MAX_SIDE, MAX_SIDE))
                source.load()
                upright = ImageOps.exif_transpose(source)
        except PhotoRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            # Past Pillow's own limit (above ours): refused by Image.open from the header.
            raise _too_many_pixels(name) from exc
        except (
            UnidentifiedImageError,
            OSError,
            SyntaxError,
            ValueError,
            EOFError,
        ) as exc:
            raise unreadable from exc
    full = _to_srgb(upright)
    full.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    thumb = full.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return Encoded(
        data=_jpeg(full, JPEG_QUALITY),
        thumb=_jpeg(thumb, THUMB_QUALITY),
        width=full.width,
        height=full.height,
    )


def _check_canvas(image: Image.Image, name: str) -> None:
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise _too_many_pixels(name, f" ({width} × {height})")


def _too_many_pixels(name: str, size: str = "") -> PhotoRejected:
    return PhotoRejected(
        "too_many_pixels",
        f"{name} has too many pixels{size}; at most {MAX_PIXELS // 1_000_000} million",
        status=413,
        limit_pixels=MAX_PIXELS,
    )


def _to_srgb(image: Image.Image) -> Image.Image:
    """Plain RGB on white, in sRGB: what every browser shows the same way."""
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "CMYK"):
        # A wide-gamut (Display P3) phone photo would look dull once its profile is dropped.
        try:
            converted = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: fall back to the plain conversion below
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale PNG: scale to 8 bits before RGB (a plain convert would clip).
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = BytesIO()
    # No exif, xmp or icc_profile given: the new file carries none of the original's.
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True, exif=b"")
    return out.getvalue()


# --------------------------------------------------------------------------- attaching


def attach_photos(
    session: Session, *, actor: Actor, case: Case, photo_ids: Sequence[int], stage: str
) -> list[Photo]:
    """Give the actor's own unattached photos to a case: all of them, or none."""
    if stage not in STAGES:
        raise InvalidInput(f"unknown photo stage '{stage}'", field="photos", allowed=list(STAGES))
    ids = list(photo_ids)
    if not ids:
        return []
    if len(ids) > MAX_PER_CALL:
        raise InvalidInput(
            f"at most {MAX_PER_CALL} photos at once ({len(ids)} given)",
            field="photos",
            limit=MAX_PER_CALL,
        )
    problems = _attach_problems(session, actor=actor, ids=ids)
    if problems:
        _refuse(problems)
    # Conditional: of two requests claiming the same photo, only one gets it.
    claimed = cast(
        CursorResult[Any],
        session.execute(
            update(Photo)
            .where(Photo.id.in_(ids), Photo.case_id.is_(None), _uploaded_by(actor))
            .values(case_id=case.id, stage=stage)
            .execution_options(synchronize_session="fetch")
        ),
    )
    if claimed.rowcount != len(ids):
        _refuse({i: "was attached to another case meanwhile" for i in ids})
    return list(session.scalars(select(Photo).where(Photo.id.in_(ids)).order_by(Photo.id)))


def _uploaded_by(actor: Actor) -> ColumnElement[bool]:
    """The actor's own photos: a user's by their id; a keyed client's (an Open311 client,
    no user behind it) by the client's name."""
    if actor.user_id is not None:
        return Photo.uploader_user_id == actor.user_id
    return and_(Photo.uploader_user_id.is_(None), Photo.uploaded_by == actor.username)


def _attach_problems(session: Session, *, actor: Actor, ids: list[int]) -> dict[int, str]:
    problems = {i: "listed twice" for i in ids if ids.count(i) > 1}
    found = session.execute(
        select(Photo.id, _uploaded_by(actor), Photo.case_id).where(Photo.id.in_(ids))
    )
    rows = {pid: (bool(own), case_id) for pid, own, case_id in found}
    for pid in ids:
        own, case_id = rows.get(pid, (False, None))
        # One wording for "missing" and "someone else's": existence is not revealed.
        if not own:
            problems.setdefault(pid, "no such photo of yours")
        elif case_id is not None:
            problems.setdefault(pid, "already attached to a case")
    return problems


def _refuse(problems: dict[int, str]) -> None:
    bad = sorted(problems)
    raise InvalidInput(
        f"photos {', '.join(map(str, bad))} cannot be attached; nothing was attached",
        field="photos",
        bad_ids=bad,
        problems=[{"id": i, "problem": problems[i]} for i in bad],
    )


# --------------------------------------------------------------------------- reading


def photo_for(session: Session, *, actor: Actor, photo_id: int) -> Photo:
    """A photo the actor may see (own unattached, or of a visible case), else NotFound."""
    own_unattached = (
        false()
        if actor.user_id is None
        else and_(Photo.case_id.is_(None), Photo.uploader_user_id == actor.user_id)
    )
    photo = session.scalars(
        select(Photo)
        .outerjoin(Case, Case.id == Photo.case_id)
        .where(Photo.id == photo_id, or_(own_unattached, visible_cases(actor)))
    ).first()
    if photo is None:
        raise NotFound(f"photo {photo_id} not found", photo_id=photo_id)
    return photo


def photo_bytes(session: Session, *, photo_id: int, variant: Variant) -> tuple[bytes, str]:
    """The stored bytes of one variant and the ETag for them; NotFound if no such photo."""
    column = Photo.data if variant == "full" else Photo.thumb
    row = session.execute(select(column, Photo.sha256).where(Photo.id == photo_id)).first()
    if row is None:
        raise NotFound(f"photo {photo_id} not found", photo_id=photo_id)
    return row[0], f'"{row[1][:20]}-{variant}"'


def case_photos(session: Session, *, case_id: int) -> list[Photo]:
    """A case's photos in upload order (metadata only: the bytes stay in the database)."""
    return list(session.scalars(select(Photo).where(Photo.case_id == case_id).order_by(Photo.id)))


def photos_of_cases(session: Session, *, case_ids: Sequence[int]) -> list[Photo]:
    """The photos of many cases in one query, in upload order."""
    if not case_ids:
        return []
    stmt = select(Photo).where(Photo.case_id.in_(sorted(set(case_ids)))).order_by(Photo.id)
    return list(session.scalars(stmt))


def purge_unattached(
    session: Session, *, older_than: timedelta = timedelta(days=1), now: datetime | None = None
) -> int:
    """Delete photos uploaded but never attached (a form abandoned); audited."""
    now = now or utcnow()
    cutoff = now - older_than
    ids = list(
        session.scalars(select(Photo.id).where(Photo.case_id.is_(None), Photo.created_at < cutoff))
    )
    if ids:
        session.execute(delete(Photo).where(Photo.id.in_(ids)))
        session.add(
            AuditEntry(
                actor="system",
                action="photos.purge_unattached",
                target=f"{len(ids)} photos",
                data={"before": cutoff.isoformat(), "ids": ids},
            )
        )
        session.flush()
    return len(ids)


# --------------------------------------------------------------------------- signed URLs

_URL_SECRETS: dict[str, str] = {}


def url_secret(session: Session) -> str:
    """The key that signs photo URLs, derived from the token-signing key.

    Derived rather than the key itself, so a URL signature can never be mistaken for any
    other signature. Resolved from the database (or ``TOWNOPS_SECRET_KEY``) rather than
    passed down, because the case presenter that builds URLs has only a session; every
    server process finds the same key, and it is cached per process.
    """
    configured = get_settings().secret_key
    cache_key = f"{database_key(session)}|{configured is not None}"
    secret = _URL_SECRETS.get(cache_key)
    if secret is None:
        # In a session of its own: finding the key may generate and commit it, and the
        # caller's transaction is the caller's.
        with Session(bind=session.get_bind()) as own:
            token_key = signing_key(own, configured=configured)
        secret = hmac.new(token_key.encode(), b"townops-photo-url", hashlib.sha256).hexdigest()
        _URL_SECRETS[cache_key] = secret
    return secret


def sign(photo_id: int, variant: str, exp: int, secret: str) -> str:
    message = f"photo:{photo_id}:{variant}:{exp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:_SIG_HEX]


def photo_url(
    photo: Photo,
    variant: Variant,
    secret: str,
    ttl: int = URL_TTL_SECONDS,
    *,
    now: datetime | None = None,
) -> str:
    """``/api/v1/media/photos/{id}/{variant}?exp=…&sig=…``: works in ``<img src>``."""
    now = now or utcnow()
    earliest = int(now.timestamp()) + ttl
    exp = -(-earliest // URL_GRAIN_SECONDS) * URL_GRAIN_SECONDS
    sig = sign(photo.id, variant, exp, secret)
    return f"/api/v1/media/photos/{photo.id}/{variant}?exp={exp}&sig={sig}"


def signature_problem(
    *,
    photo_id: int,
    variant: str,
    exp: int | None,
    sig: str | None,
    secret: str,
    now: datetime | None = None,
) -> str | None:
    """None for a good, unexpired signed URL; else why not: unsigned, expired, bad_signature."""
    if exp is None or not sig:
        return "unsigned"
    expected = sign(photo_id, variant, exp, secret).encode()
    # As bytes: a str with non-ASCII characters would make compare_digest raise.
    if not hmac.compare_digest(expected, sig.lower().encode()):
        return "bad_signature"
    if exp < int((now or utcnow()).timestamp()):
        return "expired"
    return None
