"""The interactive API documentation (/docs) works from the server alone."""

from __future__ import annotations

from tests.browser.conftest import OpenPage
from tests.browser.live import DESKTOP


def test_api_docs_render_without_internet(open_page: OpenPage) -> None:
    page = open_page(viewport=DESKTOP)
    page.goto("/docs", wait_until="load")
    assert open_page.outside() == [], "/docs loads Swagger UI from outside the server"
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert page.locator(".swagger-ui .opblock").count() > 20
