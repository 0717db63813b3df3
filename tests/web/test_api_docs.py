"""``/docs`` works on an isolated network: every asset it names is served by townops."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(("path", "min_assets"), [("/docs", 3), ("/redoc", 2)])
def test_the_api_docs_pages_load_nothing_from_outside(
    client: TestClient, path: str, min_assets: int
) -> None:
    page = client.get(path)
    assert page.status_code == 200
    # The script(s), the style, the favicon; the OpenAPI URL is in the page's own script.
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert len(assets) >= min_assets
    for url in assets:
        assert url.startswith("/"), f"{url} is not served by townops"
        assert client.get(url).status_code == 200, url
    assert "http://" not in page.text and "https://" not in page.text
    # Swagger UI 5 reads OpenAPI 3.1 (Swagger UI 4 refuses it).
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
