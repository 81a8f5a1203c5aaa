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
TENANT_PREFIX = "/api/v1/tenants/{tenant}"  # every route under it takes ``deps.tenant_call``
SECURITY = [{"bearer": []}, {"apiKey": []}]  # either way in, as FastAPI states a Security pair

# Declared for OpenAPI (and Swagger UI's Authorize button); ``deps.get_identity`` still reads the
# headers itself, so a missing or wrong one is the API's own refusal, not FastAPI's.
bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="a login token: POST /api/v1/auth/login → access_token")
api_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey",
                       description="a machine account's API key (glk_<id>_<secret>)")


def secure_tenant_routes(app: FastAPI) -> None:
    """State in the OpenAPI document that every operation under ``TENANT_PREFIX`` takes a login
    token or an API key, as FastAPI states it for a route with the two ``Security`` parameters.
    ``deps.tenant_call`` declares none, so no request pays for resolving them (issue 11);
    ``tests/unit/test_openapi_security.py`` keeps the rule and the routes in step."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes.setdefault("bearer", bearer.model.model_dump(by_alias=True, exclude_none=True))
            schemes.setdefault("apiKey", api_key.model.model_dump(by_alias=True, exclude_none=True))
            for path, operations in schema.get("paths", {}).items():
                if path.startswith(TENANT_PREFIX):
                    for operation in operations.values():
                        operation["security"] = SECURITY
        return app.openapi_schema or schema

    app.openapi = openapi  # type: ignore[method-assign]


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
