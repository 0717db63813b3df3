"""Photos of cases (照片): uploaded, cleaned of EXIF, kept in the database, served signed.

What other domains may use of it is re-exported here (``__all__``); they import
``townops.media``, never its modules (the ``protected`` contracts of .importlinter).
"""

from townops.media.presenters import present_case_photos, present_photos_of_cases
from townops.media.schemas import PhotoOut
from townops.media.service import MAX_PER_CALL, PhotoRejected, store_photo

__all__ = [
    "MAX_PER_CALL",
    "PhotoOut",
    "PhotoRejected",
    "present_case_photos",
    "present_photos_of_cases",
    "store_photo",
]
