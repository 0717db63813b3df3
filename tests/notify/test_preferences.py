"""A person's notification settings: muted channels, the language of what is sent, and
critical messages that go through all the same."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import do_action, file_case
from tests.helpers import ok
from townops.access.actor import SYSTEM, Actor
from townops.auth.models import AuditEntry, User
from townops.cases.enums import Action
from townops.notify import preferences as preferences_module
from townops.notify import service
from townops.notify.config import NotificationsConfig
from townops.notify.models import Notification
from townops.notify.schemas import PreferencesIn
from townops.timeutil import utcnow

NANXIN = "310115121020"
Login = Callable[[str], dict[str, str]]


def _config(*, critical: bool = False) -> NotificationsConfig:
    return NotificationsConfig.model_validate(
        {
            "channels": {"mail": {"kind": "email", "host": "127.0.0.1", "sender": "t@x.org"}},
            "rules": [
                {
                    "id": "dispatched",
                    "when": "dispatched",
                    "to": ["holder"],
                    "channels": ["inapp", "mail"],
                    "critical": critical,
                    "title": {"zh": "新工单 #{case_id}", "en": "New case #{case_id}"},
                    "body": {"zh": "{category}", "en": "{category}"},
                }
            ],
        }
    )


@pytest.fixture
def with_mail(monkeypatch: pytest.MonkeyPatch, session: Session) -> Callable[..., None]:
    """The town's rules with an e-mail channel; the housing office's handlers have an address."""

    def use(*, critical: bool = False) -> None:
        config = _config(critical=critical)
        monkeypatch.setattr(service, "config_of", lambda _session: config)
        monkeypatch.setattr(preferences_module, "config_of", lambda _session: config)

    for user in session.scalars(select(User).where(User.department_code == "housing_office")):
        user.email = f"{user.username}@gaohang.example"
    session.flush()
    return use


def _dispatch(session: Session) -> list[Notification]:
    case = file_case(
        session, category="house_leak", content="楼上漏水", jurisdiction=NANXIN, kind="hotline"
    )
    do_action(session, case, Action.dispatch, actor=SYSTEM, department="housing_office")
    return list(session.scalars(select(Notification).where(Notification.case_id == case.id)))


def _mine(rows: list[Notification], user: Actor, channel: str) -> list[Notification]:
    return [r for r in rows if r.recipient_user_id == user.user_id and r.channel == channel]


def test_a_muted_channel_is_skipped_and_the_language_is_the_persons(
    session: Session, actor: Callable[[str], Actor], with_mail: Callable[..., None]
) -> None:
    with_mail()
    housing = actor("housing")
    before = _dispatch(session)
    assert _mine(before, housing, "mail")[0].title.startswith("新工单")

    wanted = PreferencesIn(muted_channels=["mail"], locale="en")
    preferences_module.set_my_preferences(session, actor=housing, wanted=wanted, now=utcnow())
    after = _dispatch(session)
    assert not _mine(after, housing, "mail") and _mine(after, housing, "inapp")

    unmuted = PreferencesIn(muted_channels=[], locale="en")
    preferences_module.set_my_preferences(session, actor=housing, wanted=unmuted, now=utcnow())
    (mail,) = _mine(_dispatch(session), housing, "mail")
    assert mail.title.startswith("New case #")  # what is sent is in English …
    assert mail.title_en.startswith("New case #")  # … and the page shows either


def test_a_critical_message_goes_through_a_muted_channel(
    session: Session, actor: Callable[[str], Actor], with_mail: Callable[..., None]
) -> None:
    with_mail(critical=True)
    housing = actor("housing")
    wanted = PreferencesIn(muted_channels=["mail"])
    preferences_module.set_my_preferences(session, actor=housing, wanted=wanted, now=utcnow())
    assert _mine(_dispatch(session), housing, "mail")


def test_settings_through_the_api_are_checked_and_audited(
    client: TestClient, session: Session, login: Login, with_mail: Callable[..., None]
) -> None:
    with_mail()
    headers = login("housing")
    shown = ok(client.get("/api/v1/notifications/preferences", headers=headers))
    assert shown == {
        "channels": [
            {"name": "inapp", "kind": "inapp", "muted": False, "mutable": False},
            {"name": "mail", "kind": "email", "muted": False, "mutable": True},
        ],
        "locale": "zh",
    }
    put = {"muted_channels": ["mail"], "locale": "en"}
    saved = ok(client.put("/api/v1/notifications/preferences", json=put, headers=headers))
    assert saved["channels"][1]["muted"] is True and saved["locale"] == "en"
    for bad, field in (
        ({"muted_channels": ["inapp"]}, "muted_channels"),
        ({"muted_channels": ["fax"]}, "muted_channels"),
        ({"locale": "fr"}, "locale"),
    ):
        refused = client.put("/api/v1/notifications/preferences", json=bad, headers=headers)
        assert refused.status_code == 422, refused.text
        assert field in refused.text
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "notification.preferences")
    ).all()
    assert [a.data["after"] for a in audit] == [{"muted_channels": ["mail"], "locale": "en"}]
