"""Log-out and log-in limits in a real browser: the header's *Log out* revokes the token on
the server (issue 12), not only in the tab; too many failed log-ins are explained."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.pages import fill_login, log_in

# A handler no other browser test uses: logging out revokes every token of the account.
USER = "justice"


def test_log_out_revokes_the_token_on_the_server(open_page: OpenPage) -> None:
    page = open_page()
    log_in(page, USER, then="/inbox")
    token = page.evaluate("sessionStorage.getItem('townops.token')")
    assert token
    me = page.request.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 200

    with page.expect_request(lambda r: r.url.endswith("/api/v1/auth/logout")) as sent:
        page.get_by_test_id("logout").click()
    page.wait_for_url("**/login**")
    assert sent.value.method == "POST"
    assert page.evaluate("sessionStorage.getItem('townops.token')") is None

    again = page.request.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert again.status == 401
    # Logging in again works at once.
    log_in(page, USER, then="/inbox")
    expect(page.get_by_test_id("user")).to_contain_text(USER)


def test_too_many_failed_log_ins_are_explained_on_the_page(open_page: OpenPage) -> None:
    """The server's limit (5 failures per username in 15 minutes; docs/security.md) in the
    user's language. A username no account has, so no one is locked out; these 5 failures
    also count towards the address's 20 for every browser test of this server."""
    page = open_page()
    page.goto("/login")
    for _ in range(5):
        fill_login(page, "no-such-user", "not-the-password")
        expect(page.get_by_test_id("login-message")).to_have_text("用户名或密码不对。")
        page.get_by_test_id("login-submit").wait_for(state="attached")
        expect(page.get_by_test_id("login-submit")).to_be_enabled()
    fill_login(page, "no-such-user", "not-the-password")
    expect(page.get_by_test_id("login-message")).to_have_text(
        re.compile(r"登录失败次数过多，请 1[0-5]? 分钟后再试。")
    )
