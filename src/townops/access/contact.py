"""Who sees contact data (联系人信息): the one rule, and the view that applies it.

Contact data is a requester's or a household's name, phone and ID number, the exact
address (below the building) and any number typed into free text. Whether an actor sees
it unmasked depends on the role's ``sees_full_phone`` in ``roles.yaml`` and on the unit in
charge of the object (its *owner*):

- the system sees everything (a resident's own request is masked too: residents'
  ``sees_full_phone`` is false, and their own number is on their account);
- a role whose ``sees_full_phone`` is false sees contact data masked, with one exception:
  the unit in charge of a device alarm in a home (e.g. the community's staff for an
  elderly person's gas alarm) must call the household, so it sees the number;
- a role whose ``sees_full_phone`` is true sees it unmasked if it works town-wide or in a
  subtree (duty officer, dispatcher), and, for a department's handler, only on what its
  department is in charge of.

Nothing else in townops decides this: cases, devices, alarms, exports, Open311 and the
live feed all ask :func:`sees_contact` and mask through :class:`ContactView`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, false, true

from townops.access import masking
from townops.access.actor import Actor, Role

_UNIT_ROLES = frozenset({Role.handler, Role.community_staff, Role.grid_worker})


class RoleRule(Protocol):
    """What the access layer reads of a role in ``roles.yaml``."""

    @property
    def sees_full_phone(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Owner:
    """The unit in charge of an object: a department, or a community (居委)."""

    department: str | None = None
    community: str | None = None


NO_OWNER = Owner()


def owns(actor: Actor, owner: Owner) -> bool:
    """Whether the actor's own unit is in charge (a department's handler of its
    department's objects; community staff and grid workers of their community's)."""
    if actor.role == Role.handler:
        return actor.department_code is not None and owner.department == actor.department_code
    if actor.role in (Role.community_staff, Role.grid_worker):
        # The community in charge is the actor's scope or an ancestor of it (a grid
        # worker's micro-grid): either way it is a segment of the scope's path.
        return (
            owner.community is not None
            and actor.scope_path is not None
            and f"/{owner.community}/" in f"/{actor.scope_path}"
        )
    return False


def owned_where(actor: Actor, *, department: Any, community: Any) -> ColumnElement[bool]:
    """:func:`owns` in SQL: the rows the actor's own unit is in charge of, given the
    columns naming the department and the community in charge."""
    if actor.role == Role.handler and actor.department_code is not None:
        return department == actor.department_code  # type: ignore[no-any-return]
    if actor.role in (Role.community_staff, Role.grid_worker) and actor.scope_path is not None:
        communities = [code for code in actor.scope_path.strip("/").split("/") if code]
        return community.in_(communities)  # type: ignore[no-any-return]
    return false()


def sees_contact(
    actor: Actor,
    roles: Mapping[str, RoleRule],
    owner: Owner = NO_OWNER,
    *,
    owner_must_call: bool = False,
) -> bool:
    """Whether ``actor`` sees contact data of an object owned by ``owner`` unmasked.

    ``owner_must_call``: the object is a device alarm in a home, whose household the unit
    in charge must call whatever its role's setting.
    """
    if actor.is_system:
        return True
    if owner_must_call and owns(actor, owner):
        return True
    spec = roles.get(actor.role)
    if spec is None or not spec.sees_full_phone:
        return False
    if actor.role in _UNIT_ROLES:
        return owns(actor, owner)
    return actor.role != Role.resident


def may_search_contact(actor: Actor, roles: Mapping[str, RoleRule]) -> bool:
    """Whether ``actor`` may look objects up by contact data (a requester's phone): only a
    role whose rule shows contact data unmasked. Any other role would learn, from what a
    search finds, the numbers it is shown masked."""
    if actor.is_system:
        return True
    spec = roles.get(actor.role)
    return spec is not None and spec.sees_full_phone and actor.role != Role.resident


def sees_contact_where(
    actor: Actor,
    roles: Mapping[str, RoleRule],
    *,
    department: Any,
    community: Any,
    household: ColumnElement[bool] | None = None,
) -> ColumnElement[bool]:
    """:func:`sees_contact` in SQL: the rows whose contact data ``actor`` sees unmasked,
    given the columns naming the unit in charge and a condition true for an object about
    a household (``owner_must_call``)."""
    if actor.is_system:
        return true()
    owned = owned_where(actor, department=department, community=community)
    spec = roles.get(actor.role)
    if spec is None or not spec.sees_full_phone:
        return and_(household, owned) if household is not None else false()
    if actor.role in _UNIT_ROLES:
        return owned
    return true() if actor.role != Role.resident else false()


@dataclass(frozen=True, slots=True)
class ContactView:
    """Contact fields as one actor may see them: unmasked, or masked through
    :mod:`townops.access.masking`."""

    full: bool

    def phone(self, value: str | None) -> str:
        if not value:
            return ""
        return value if self.full else masking.mask_phone(value)

    def name(self, value: str | None) -> str:
        if not value:
            return ""
        return value if self.full else masking.mask_name(value)

    def email(self, value: str | None) -> str:
        if not value:
            return ""
        return value if self.full else masking.mask_email(value)

    def id_number(self, value: str | None) -> str:
        if not value:
            return ""
        return value if self.full else masking.mask_id_number(value)

    def address(self, value: str | None) -> str | None:
        if value is None or self.full:
            return value
        return masking.address_to_building(value)

    def text(self, value: str | None) -> str | None:
        """Free text (a description, a reply, a comment) with typed-in numbers masked."""
        if value is None or self.full:
            return value
        return masking.mask_text(value)


def contact_view(
    actor: Actor,
    roles: Mapping[str, RoleRule],
    owner: Owner = NO_OWNER,
    *,
    owner_must_call: bool = False,
) -> ContactView:
    return ContactView(full=sees_contact(actor, roles, owner, owner_must_call=owner_must_call))
