"""``/docs`` works on an isolated network: every asset it names is served by townops."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_the_api_docs_page_loads_nothing_from_outside(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    # Swagger's script and style, and the favicon; the openapi URL is in the script body.
    assert len(assets) >= 3
    for url in assets:
        assert url.startswith("/"), f"{url} is not served by townops"
        assert client.get(url).status_code == 200, url
    assert "http://" not in page.text and "https://" not in page.text
    assert client.get("/redoc").status_code == 404  # ReDoc would need a CDN: not offered
    assert client.get("/openapi.json").json()["info"]["title"] == "townops"
