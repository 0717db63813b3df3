"""The one access layer (访问控制): who sees what, who may do what, and what is masked.

- :mod:`townops.access.scope`: the actor's scope as one value and the one SQL condition
  builder every domain selects rows with;
- :mod:`townops.access.contact`: the one rule for contact data (``sees_contact``) and the
  view that masks it;
- :mod:`townops.access.masking`: how phones, ID numbers, names, addresses and numbers in
  free text are masked.

No domain writes its own scope test or masking: it names its columns and its owner here.
"""

from townops.access.actor import STAFF_ROLES
from townops.access.contact import (
    NO_OWNER,
    ContactView,
    Owner,
    contact_view,
    may_search_contact,
    owns,
    sees_contact,
    sees_contact_where,
)
from townops.access.scope import (
    LOCAL_ROLES,
    TOWN_WIDE_ROLES,
    Reach,
    Scope,
    scope_of,
)

__all__ = [
    "LOCAL_ROLES",
    "NO_OWNER",
    "STAFF_ROLES",
    "TOWN_WIDE_ROLES",
    "ContactView",
    "Owner",
    "Reach",
    "Scope",
    "contact_view",
    "may_search_contact",
    "owns",
    "scope_of",
    "sees_contact",
    "sees_contact_where",
]
