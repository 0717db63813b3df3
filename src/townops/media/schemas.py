"""Output shapes of photos: the upload answer and a case's photo (in ``CaseOut.photos``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

# A photo id as the database can hold it (a larger number would be a database error).
PhotoId = Annotated[int, Field(ge=1, le=2_147_483_647)]


class PhotoUploaded(BaseModel):
    """``POST /api/v1/media/photos`` → 201: what the client shows and later attaches by id."""

    id: int
    url: str = Field(description="Signed URL of the full image (about an hour)")
    thumb_url: str = Field(description="Signed URL of the 320 px thumbnail")
    width: int
    height: int
    size: int = Field(description="Bytes of the stored JPEG")
    content_type: str


class PhotoOut(BaseModel):
    """A photo of a case: ``stage`` is ``report`` (sent with the case) or ``resolve``."""

    id: int
    stage: str
    url: str
    thumb_url: str
    width: int
    height: int
    created_at: datetime
