"""Photo routes: upload (any logged-in role) and serve (a signed URL or a bearer token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response, UploadFile, status

from townops.api.deps import ActorDep, SessionDep, TokenKeyDep, oauth2_scheme
from townops.auth.sessions import actor_for_token
from townops.errors import Forbidden
from townops.media import service
from townops.media.presenters import present_uploaded
from townops.media.schemas import PhotoUploaded

router = APIRouter(prefix="/api/v1/media", tags=["media"])

# Private: a photo may show a resident's home; no shared cache may keep it.
_IMAGE_HEADERS = {
    "Cache-Control": f"private, max-age={service.URL_TTL_SECONDS}",
    "X-Content-Type-Options": "nosniff",
}


@router.post("/photos", status_code=status.HTTP_201_CREATED, response_model=PhotoUploaded)
def upload_photo(file: UploadFile, session: SessionDep, actor: ActorDep) -> PhotoUploaded:
    """Upload one JPEG, PNG, WebP or GIF (at most 10 MiB) as multipart field ``file``.

    The stored photo is a new JPEG without EXIF (no GPS), upright, at most 2048 px; attach
    it by ``id`` with ``photos`` when creating a case or resolving one."""
    # One byte past the limit is enough to know it is too large.
    data = file.file.read(service.MAX_UPLOAD_BYTES + 1)
    photo = service.store_photo(session, actor=actor, data=data, filename=file.filename or "")
    session.commit()
    return present_uploaded(photo, secret=service.url_secret(session))


@router.get(
    "/photos/{photo_id}/{variant}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The image"}},
)
def get_photo(
    photo_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    variant: service.Variant,
    session: SessionDep,
    key: TokenKeyDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
    exp: Annotated[int | None, Query(description="Expiry of a signed URL (Unix time)")] = None,
    sig: Annotated[str | None, Query(description="Signature of a signed URL")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A photo (``full``) or its thumbnail (``thumb``), as ``image/jpeg``: with the
    ``exp`` and ``sig`` of a URL from the API (no bearer needed), or with a bearer token
    of someone who may see it."""
    problem = service.signature_problem(
        photo_id=photo_id, variant=variant, exp=exp, sig=sig, secret=service.url_secret(session)
    )
    if problem is not None:
        if not bearer:
            raise Forbidden(
                "this photo URL is invalid or has expired; reload the page for a new one",
                reason=problem,
            )
        actor = actor_for_token(session, bearer, secret=key)
        service.photo_for(session, actor=actor, photo_id=photo_id)
    data, etag = service.photo_bytes(session, photo_id=photo_id, variant=variant)
    headers = {**_IMAGE_HEADERS, "ETag": etag}
    if if_none_match == etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(data, media_type="image/jpeg", headers=headers)
