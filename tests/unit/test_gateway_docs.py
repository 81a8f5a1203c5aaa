"""`/docs` works offline and with a login (issue 10 §2): Swagger UI's assets are served by the
gateway from an installed package, no page refers to another host, and the two ways in (a login
token, an API key) are declared so "Authorize" is offered; every link the API's own text gives
to one of its routes leads to a route that exists."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    yield TestClient(create_app())  # no lifespan needed: the pages and the spec are static


def test_the_docs_page_and_its_assets_come_from_the_gateway(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert urls and all(u.startswith("/") for u in urls), urls  # nothing from another host
    assert "http://" not in page.text and "https://" not in page.text
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN: not offered


def test_the_login_token_and_the_api_key_are_declared(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKey"]["in"] == "header" and schemes["apiKey"]["name"] == "X-API-Key"
    me = spec["paths"]["/api/v1/me"]["get"]
    assert {"bearer": []} in me["security"] and {"apiKey": []} in me["security"]
    assert "security" not in spec["paths"]["/api/v1/public/tenants"]["get"]


def test_every_route_the_api_text_names_exists(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    named = set(re.findall(r"(?:GET|POST|PUT|PATCH|DELETE) (/api/v1/[^\s\"',;)]+)",
                           str(spec)))
    assert "/api/v1/public/compliance-kinds" in named
    templates = [re.sub(r"\{[^}]+\}", "[^/]+", p) for p in spec["paths"]]
    for path in named:
        assert any(re.fullmatch(t, path) for t in templates), f"{path} is named but not served"


def test_the_reset_link_in_the_mail_leads_to_a_page_that_confirms(client: TestClient) -> None:
    """The e-mail's link (``{public_url}/reset-password?token=…``) opens a form of the gateway's
    own, which sends the token to the confirm route; nothing loads from another host, and the
    page forbids what it does not need."""
    page = client.get("/reset-password", params={"token": "abc"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/api/v1/auth/password-reset/confirm" in page.text
    assert "/api/v1/auth/password-reset/confirm" in client.get("/openapi.json").json()["paths"]
    assert "http://" not in page.text and "https://" not in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "/reset-password" not in client.get("/openapi.json").json()["paths"]
