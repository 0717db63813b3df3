"""The one access layer: each persona's scope, and the one contact rule, as tables."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.helpers import NANXIN
from townops.access import NO_OWNER, Owner, Reach, owns, scope_of, sees_contact
from townops.access.actor import SYSTEM, Actor
from townops.jurisdiction.models import Jurisdiction
from townops.towns.profile import get_profile

DONGGOU = "310115121001"


@pytest.mark.parametrize(
    ("persona", "reach"),
    [
        ("admin", Reach.town),
        ("leader", Reach.town),
        ("duty", Reach.town),
        ("dispatcher", Reach.town),
        ("housing", Reach.department),
        ("nanxin", Reach.subtree),
        ("grid_nanxin", Reach.subtree),
        ("resident_a", Reach.own),
    ],
)
def test_each_persona_reaches_what_its_role_and_scope_say(
    actor: Callable[[str], Actor], persona: str, reach: Reach
) -> None:
    assert scope_of(actor(persona)).reach == reach


def test_the_system_reaches_the_town_and_a_scopeless_local_role_nothing() -> None:
    from townops.access.actor import Role

    assert scope_of(SYSTEM).reach == Reach.town
    assert scope_of(Actor(username="x", role=Role.grid_worker, user_id=9)).reach == Reach.nothing
    assert scope_of(Actor(username="y", role=Role.handler, user_id=9)).reach == Reach.nothing


def test_a_subtree_scope_selects_its_places_in_sql_and_in_python(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    scope = scope_of(actor("nanxin"))
    rows = session.scalars(
        select(Jurisdiction.code).where(scope.where(path=Jurisdiction.path))
    ).all()
    assert NANXIN in rows and DONGGOU not in rows
    assert all(code.startswith(NANXIN) for code in rows)
    for node in session.scalars(select(Jurisdiction)):
        assert scope.contains_path(node.path) == (node.code in rows), node.code


def test_a_domain_without_the_column_a_reach_needs_shows_nothing(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    # A handler's reach is its department: a table without a department column shows it
    # nothing, unless the domain says departments serve the whole town.
    scope = scope_of(actor("housing"))
    hidden = session.scalars(select(Jurisdiction.code).where(scope.where(path=Jurisdiction.path)))
    assert hidden.all() == []
    served = session.scalars(
        select(Jurisdiction.code).where(
            scope.where(path=Jurisdiction.path, departments_serve_town=True)
        )
    )
    assert len(served.all()) > 10
    resident = scope_of(actor("resident_a"))
    assert (
        session.scalars(
            select(Jurisdiction.code).where(resident.where(path=Jurisdiction.path))
        ).all()
        == []
    )


HOUSING_CASE = Owner(department="housing_office")
NANXIN_CASE = Owner(community=NANXIN)


@pytest.mark.parametrize(
    ("persona", "owner", "must_call", "full"),
    [
        # roles.yaml: duty officer and dispatcher see contact data on all they see.
        ("duty", HOUSING_CASE, False, True),
        ("dispatcher", NO_OWNER, False, True),
        # A handler sees it on what its department holds, and only there.
        ("housing", HOUSING_CASE, False, True),
        ("housing", NANXIN_CASE, False, False),
        ("urban", HOUSING_CASE, False, False),
        ("market", NO_OWNER, True, False),
        # sees_full_phone false: masked, whatever they hold ...
        ("admin", HOUSING_CASE, False, False),
        ("admin", NANXIN_CASE, True, False),
        ("leader", HOUSING_CASE, False, False),
        ("nanxin", NANXIN_CASE, False, False),
        ("resident_a", NO_OWNER, False, False),
        # ... except the unit in charge of an alarm in a home, who must call the household.
        ("nanxin", NANXIN_CASE, True, True),
        ("grid_nanxin", NANXIN_CASE, True, True),
        ("nanxin", HOUSING_CASE, True, False),
        ("housing", HOUSING_CASE, True, True),
    ],
)
def test_one_contact_rule(
    session: Session,
    actor: Callable[[str], Actor],
    persona: str,
    owner: Owner,
    must_call: bool,
    full: bool,
) -> None:
    roles = get_profile(session).roles
    assert sees_contact(actor(persona), roles, owner, owner_must_call=must_call) is full


def test_a_grid_worker_owns_what_is_assigned_to_its_community(
    actor: Callable[[str], Actor],
) -> None:
    assert owns(actor("grid_nanxin"), NANXIN_CASE)
    assert not owns(actor("grid_nanxin"), Owner(community=DONGGOU))
    assert not owns(actor("admin"), HOUSING_CASE)  # admin is no unit
