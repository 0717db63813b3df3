"""The gazetteer's town setting: how sure a place must be before it is used to dispatch.

``gazetteer.yaml`` (schema and checks in :mod:`townops.townfiles`) gives the place names,
which the loader writes into the ``gazetteer`` table; of its settings only
``min_confidence`` reaches the town profile, under ``"gazetteer"``.
"""

from __future__ import annotations

from pydantic import BaseModel

from townops.towns.sections import town_section

#: A place found with less confidence than this is never used to dispatch a case.
DEFAULT_MIN_CONFIDENCE = 0.75


@town_section("gazetteer")
class GazetteerSettings(BaseModel):
    """The town profile's ``gazetteer`` section (absent when the town has no gazetteer)."""

    min_confidence: float = DEFAULT_MIN_CONFIDENCE
