"""Sessions (issue 12, finding 10 and 14): every request checks the token against the
user's row; log-out, deactivation and a change of role, scope or department revoke at
once; a token for a user that does not exist is refused; passwords are argon2id with a
rehash of old scrypt hashes at log-in; the server needs a signing key from the environment
outside the demo; token responses are not cached; the API docs carry security headers."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import DEMO_PASSWORD
from tests.factories import persona_token as _token
from townops.access.actor import Role
from townops.auth.models import AuditEntry, User
from townops.auth.passwords import (
    hash_password,
    legacy_scrypt_hash,
    needs_rehash,
    verify_password,
)
from townops.auth.service import actor_for, create_user, issue_token
from townops.auth.sessions import DEMO_MARK, secret_key_problem
from townops.auth.users import deactivate_user, update_user
from townops.cli.main import app as cli
from townops.db import make_engine
from townops.errors import InvalidInput
from townops.settings import Settings, get_settings
from townops.towns.models import InstanceSetting

SECRET = "test-secret-key-that-is-32-bytes-long!"  # the app fixture's (tests/conftest.py)
runner = CliRunner()


def _me(client: TestClient, token: str) -> Any:
    return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def _user(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def _audit(session: Session, action: str, target: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.target == target)
        )
    )


# --------------------------------------------------------------------------- revocation


def test_the_token_carries_the_users_generation(client: TestClient, session: Session) -> None:
    claims = jwt.decode(_token(client, "housing"), SECRET, algorithms=["HS256"])
    assert claims["gen"] == _user(session, "housing").token_generation
    assert claims["uid"] == _user(session, "housing").id


def test_logout_revokes_every_token_of_the_account_and_is_audited(
    client: TestClient, session: Session
) -> None:
    first, second = _token(client, "housing"), _token(client, "housing")  # two devices
    other = _token(client, "urban")
    before = _user(session, "housing").token_generation
    assert _me(client, first).status_code == 200

    r = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {first}"})
    assert r.status_code == 204 and r.content == b""

    for token in (first, second):
        refused = _me(client, token)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthenticated"
    assert _me(client, other).status_code == 200  # someone else's session stands
    session.expire_all()
    assert _user(session, "housing").token_generation == before + 1
    [entry] = _audit(session, "auth.logout", "housing")
    assert entry.actor == "housing"
    # Logging out twice with the same token: it is no longer valid.
    again = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {first}"})
    assert again.status_code == 401
    # A new log-in works at once.
    assert _me(client, _token(client, "housing")).json()["username"] == "housing"


def test_logout_needs_a_token(client: TestClient) -> None:
    assert client.post("/api/v1/auth/logout").status_code == 401


def test_a_deactivated_users_token_is_refused_on_its_next_request(
    client: TestClient, session: Session
) -> None:
    token = _token(client, "market")
    assert client.get("/api/v1/cases?page_size=1", headers=_bearer(token)).status_code == 200

    deactivate_user(session, username="market", actor="admin-test")

    r = client.get("/api/v1/cases?page_size=1", headers=_bearer(token))
    assert r.status_code == 401
    assert "deactivated" in r.json()["error"]["message"]
    login = client.post("/api/v1/auth/token", data={"username": "market", "password": "demo1234"})
    assert login.status_code == 401
    [entry] = _audit(session, "user.deactivate", "market")
    assert entry.actor == "admin-test"


def test_a_change_of_role_scope_or_department_revokes_at_once(
    client: TestClient, session: Session
) -> None:
    token = _token(client, "housing")
    assert _me(client, token).json()["department"] == "housing_office"

    changes = update_user(session, username="housing", department_code="urban_management")

    assert changes == {"department": ["housing_office", "urban_management"]}
    assert _me(client, token).status_code == 401
    fresh = _token(client, "housing")
    assert _me(client, fresh).json()["department"] == "urban_management"

    # Demoted to resident (the department taken away): the token of a minute ago is refused.
    update_user(session, username="housing", role=Role.resident, department_code="")
    assert _me(client, fresh).status_code == 401
    assert _me(client, _token(client, "housing")).json()["role"] == "resident"
    assert len(_audit(session, "user.update", "housing")) == 2


def test_an_unchanged_update_revokes_nothing(client: TestClient, session: Session) -> None:
    token = _token(client, "housing")
    assert update_user(session, username="housing", role=Role.handler) == {}
    assert _me(client, token).status_code == 200
    assert _audit(session, "user.update", "housing") == []


def test_an_update_must_leave_a_valid_account(session: Session) -> None:
    with pytest.raises(InvalidInput, match="department"):
        update_user(session, username="housing", department_code="")
    with pytest.raises(InvalidInput, match="scope"):
        update_user(session, username="housing", role=Role.grid_worker, department_code="")
    with pytest.raises(InvalidInput, match="unknown"):
        update_user(session, username="housing", department_code="no_such_office")


def test_role_and_scope_come_from_the_users_row_not_the_token(
    client: TestClient, session: Session
) -> None:
    """Even without a generation bump (a change made straight in the database), the
    request sees the row as it is now: the token's own claims are never trusted."""
    token = _token(client, "nanxin")
    assert _me(client, token).json()["scope"] == "310115121020"
    user = _user(session, "nanxin")
    other = "310115121021"
    user.scope_code = other
    session.flush()
    me = _me(client, token).json()
    assert me["scope"] == other and me["role"] == "community_staff"


def test_a_token_for_a_user_that_does_not_exist_is_refused(
    client: TestClient, session: Session
) -> None:
    admin = actor_for(session, _user(session, "admin"))
    ghost = admin.__class__(username="ghost", role=Role.admin, user_id=999_999)
    r = _me(client, issue_token(ghost, secret=SECRET, ttl_minutes=60))
    assert r.status_code == 401
    # A real id with another name (a deleted user's id taken by a new one) is refused too.
    renamed = admin.__class__(username="not-admin", role=Role.admin, user_id=admin.user_id)
    assert _me(client, issue_token(renamed, secret=SECRET, ttl_minutes=60)).status_code == 401
    # The genuine token of that id works: the refusals above are about the user check.
    genuine = issue_token(admin, secret=SECRET, ttl_minutes=60)
    assert _me(client, genuine).status_code == 200


def test_a_token_without_a_generation_is_refused(client: TestClient, session: Session) -> None:
    """Tokens issued before generations existed (no ``gen`` claim) must log in again."""
    user = _user(session, "admin")
    claims = {"sub": "admin", "uid": user.id, "role": "admin", "exp": 2_000_000_000}
    old = jwt.encode(claims, SECRET, algorithm="HS256")
    assert _me(client, old).status_code == 401


def test_a_forged_role_claim_gains_nothing(client: TestClient, session: Session) -> None:
    """A token is signed, but even a validly signed claim of another role is ignored."""
    user = _user(session, "resident_a")
    resident = actor_for(session, user)
    forged = resident.__class__(username="resident_a", role=Role.admin, user_id=user.id)
    token = issue_token(forged, secret=SECRET, ttl_minutes=60, generation=user.token_generation)
    assert _me(client, token).json()["role"] == "resident"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- token response


def test_the_token_response_is_not_cached(client: TestClient) -> None:
    r = client.post("/api/v1/auth/token", data={"username": "duty", "password": DEMO_PASSWORD})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"


# --------------------------------------------------------------------------- passwords


def test_new_passwords_are_argon2id_at_owasp_parameters() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong horse", stored)
    assert not needs_rehash(stored)
    assert not verify_password("x", "garbage") and not verify_password("x", "scrypt$zz$zz")


def test_an_old_scrypt_hash_still_logs_in_and_is_rehashed(
    client: TestClient, session: Session
) -> None:
    create_user(session, username="oldtimer", password="old-password", role=Role.leader)
    user = _user(session, "oldtimer")
    user.password_hash = legacy_scrypt_hash("old-password", salt=secrets.token_bytes(16))
    session.flush()
    assert needs_rehash(user.password_hash)

    wrong = client.post("/api/v1/auth/token", data={"username": "oldtimer", "password": "nope"})
    assert wrong.status_code == 401
    session.expire_all()
    assert _user(session, "oldtimer").password_hash.startswith("scrypt$")  # not on a failure

    _token(client, "oldtimer", "old-password")
    session.expire_all()
    rehashed = _user(session, "oldtimer").password_hash
    assert rehashed.startswith("$argon2id$")
    assert verify_password("old-password", rehashed)
    _token(client, "oldtimer", "old-password")  # and the new hash logs in


# --------------------------------------------------------------------------- the CLI


def _cli_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'users.db'}"
    assert (
        runner.invoke(cli, ["town", "load", "--demo-users", "--database-url", url]).exit_code == 0
    )
    return url


def test_user_deactivate_activate_and_set_on_the_command_line(tmp_path: Path) -> None:
    url = _cli_db(tmp_path)
    engine = make_engine(url)

    def row() -> User:
        with Session(engine) as s:
            return s.scalars(select(User).where(User.username == "housing")).one()

    start = row().token_generation
    r = runner.invoke(cli, ["user", "deactivate", "housing", "--database-url", url])
    assert r.exit_code == 0, r.output
    assert not row().active and row().token_generation == start + 1
    r = runner.invoke(cli, ["user", "activate", "housing", "--database-url", url])
    assert r.exit_code == 0 and row().active

    r = runner.invoke(
        cli,
        ["user", "set", "housing", "--role", "leader", "--department", "", "--database-url", url],
    )
    assert r.exit_code == 0, r.output
    assert "role handler → leader" in r.output
    assert row().role == "leader" and row().department_code is None
    assert row().token_generation == start + 2

    bad = runner.invoke(cli, ["user", "set", "housing", "--role", "handler", "--database-url", url])
    assert bad.exit_code == 1 and "department" in bad.output
    missing = runner.invoke(cli, ["user", "deactivate", "nobody", "--database-url", url])
    assert missing.exit_code == 1 and "nobody" in missing.output
    with Session(engine) as s:
        actions = set(s.scalars(select(AuditEntry.action).where(AuditEntry.target == "housing")))
    assert {"user.deactivate", "user.activate", "user.update"} <= actions
    engine.dispose()


# --------------------------------------------------------------------------- the signing key


def test_serve_refuses_to_start_without_a_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOWNOPS_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        url = f"sqlite:///{tmp_path / 'prod.db'}"
        result = runner.invoke(cli, ["serve", "--database-url", url, "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "TOWNOPS_SECRET_KEY is not set" in result.output
    assert not (tmp_path / "prod.db").exists()  # refused before touching the database


def test_the_key_must_come_from_the_environment_outside_the_demo(tmp_path: Path) -> None:
    url = _cli_db(tmp_path)
    engine = make_engine(url)
    assert "not set" in (secret_key_problem(Settings(database_url=url), engine) or "")
    short = Settings(database_url=url, secret_key="short")
    assert "too short" in (secret_key_problem(short, engine) or "")
    assert secret_key_problem(Settings(database_url=url, secret_key=SECRET), engine) is None
    # The demo's database (marked by `townops demo`) keeps its generated key.
    with Session(engine) as s:
        s.add(InstanceSetting(key=DEMO_MARK, value="townops demo --seed 1"))
        s.commit()
    assert secret_key_problem(Settings(database_url=url), engine) is None
    engine.dispose()


def test_serve_runs_on_the_demos_database_or_with_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []
    monkeypatch.setattr("townops.cli.serve.uvicorn.run", lambda *a, **k: served.append("ok"))
    monkeypatch.delenv("TOWNOPS_SECRET_KEY", raising=False)
    url = _cli_db(tmp_path)
    get_settings.cache_clear()
    try:
        refused = runner.invoke(cli, ["serve", "--database-url", url, "--port", "1"])
        assert refused.exit_code == 1 and "TOWNOPS_SECRET_KEY" in refused.output
        monkeypatch.setenv("TOWNOPS_SECRET_KEY", SECRET)
        get_settings.cache_clear()
        with_key = runner.invoke(cli, ["serve", "--database-url", url, "--port", "1"])
        assert with_key.exit_code == 0, with_key.output
        monkeypatch.delenv("TOWNOPS_SECRET_KEY")
        get_settings.cache_clear()
        engine = make_engine(url)
        with Session(engine) as s:
            s.add(InstanceSetting(key=DEMO_MARK, value="townops demo --seed 1"))
            s.commit()
        engine.dispose()
        demo = runner.invoke(cli, ["serve", "--database-url", url, "--port", "1"])
        assert demo.exit_code == 0, demo.output
    finally:
        get_settings.cache_clear()
    assert served == ["ok", "ok"]


def test_the_asgi_entry_point_refuses_to_load_without_a_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNOPS_")}
    env["TOWNOPS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'asgi.db'}"
    done = subprocess.run(
        [sys.executable, "-c", "import townops.asgi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "TOWNOPS_SECRET_KEY is not set" in done.stderr


# --------------------------------------------------------------------------- security headers


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_api_docs_pages_carry_the_security_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    # Inline scripts run only by hash: each one in the page, and nothing else.
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    for body in re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src


def test_the_web_pages_keep_their_security_headers(client: TestClient) -> None:
    r = client.get("/login")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
