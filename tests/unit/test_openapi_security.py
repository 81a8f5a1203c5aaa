"""The OpenAPI document states the credentials of every tenant route (``docs.secure_tenant_routes``)
although ``deps.tenant_call`` declares no security parameters: the rule "every route under the
tenant prefix takes ``tenant_call``" must hold both ways, or the document would lie."""

from __future__ import annotations

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gateway import deps, docs
from gateway.app import create_app
from gateway.routes import accounts, evaluation, institutions, public, registry, selfservice
from gateway.views import router as views_router

ROUTERS = (public.router, accounts.router, selfservice.router, selfservice.page, registry.router,
           evaluation.router, institutions.router, institutions.public, views_router)


def _calls(dependant: Dependant) -> set[object]:
    found = set()
    for sub in dependant.dependencies:
        found.add(sub.call)
        found |= _calls(sub)
    return found


def _routes() -> list[APIRoute]:
    return [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def test_every_route_under_the_tenant_prefix_takes_tenant_call_and_no_other_does() -> None:
    routes = _routes()
    assert len(routes) > 40
    for route in routes:
        takes = deps.tenant_call in _calls(route.dependant)
        assert takes == route.path.startswith(docs.TENANT_PREFIX), (route.path, route.methods)


def test_the_document_states_both_ways_in_for_every_tenant_operation() -> None:
    schema = create_app().openapi()
    assert set(schema["components"]["securitySchemes"]) >= {"bearer", "apiKey"}
    tenant_ops = [op for path, ops in schema["paths"].items() if path.startswith(docs.TENANT_PREFIX)
                  for op in ops.values()]
    assert len(tenant_ops) > 40
    assert all(op["security"] == docs.SECURITY for op in tenant_ops)
