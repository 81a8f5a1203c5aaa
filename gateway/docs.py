"""The API's own documentation pages, served by the gateway itself: Swagger UI's assets come from
an installed package (``swagger-ui-bundle-v2``), never a CDN, so `/docs` works offline, and the
page offers the two ways in (a login token, an API key) under "Authorize"."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"

# Declared for OpenAPI (and Swagger UI's Authorize button); ``deps.get_identity`` still reads the
# headers itself, so a missing or wrong one is the API's own refusal, not FastAPI's.
bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="a login token: POST /api/v1/auth/login → access_token")
api_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey",
                       description="a machine account's API key (glk_<id>_<secret>)")


def install(app: FastAPI) -> None:
    """`/docs` and its assets; FastAPI's own CDN-based pages are turned off in ``create_app``."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} — docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": True})
