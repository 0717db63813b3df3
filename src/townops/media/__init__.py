"""Photos of cases (照片): uploaded, cleaned of EXIF, kept in the database, served signed.

What other domains may use of it is re-exported here (``__all__``); they import
``townops.media``, never its modules (the ``protected`` contracts of .importlinter).
"""

from townops.media.presenters import present_case_photos
from townops.media.schemas import PhotoOut

__all__ = ["PhotoOut", "present_case_photos"]
