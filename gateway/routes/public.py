"""Open to everyone: health, reference data, the platform's public keys."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.kernel.tenancy import cities_of, get_tenant, tenants

router = APIRouter(tags=["public"])


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/api/v1/public/tenants", summary="The 38 tenants (省级主管部门 and the ministry)")
async def list_tenants() -> list[dict]:
    return [{"id": t.id, "name_zh": t.name_zh, "name_en": t.name_en, "kind": t.kind}
            for t in tenants()]


@router.get("/api/v1/public/tenants/{tenant}/cities", summary="Prefecture-level divisions of a tenant")
async def tenant_cities(tenant: str) -> list[dict]:
    get_tenant(tenant)
    return [{"code": d.code, "name_zh": d.name_zh, "level": d.level} for d in cities_of(tenant)]


@router.get("/api/v1/public/keys", summary="Public keys of the gateway's signing keys (Ed25519, PEM)")
async def public_keys(request: Request) -> dict:
    ring = request.app.state.auth.ring
    return {"issuer": ring.issuer, "active": ring.active_kid, "keys": ring.public_pems()}
