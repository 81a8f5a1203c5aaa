"""Open to everyone: health, reference data, the platform's public keys."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from gateway.routes._common import ERRORS, reply
from gateway.schemas import Strict
from services.kernel.tenancy import cities_of, get_tenant, tenants

router = APIRouter(tags=["public"], responses=ERRORS)


class TenantOut(Strict):
    id: str = Field(description="GB/T 2260 code; 000000 is the ministry")
    name_zh: str
    name_en: str
    kind: str


class CityOut(Strict):
    code: str
    name_zh: str
    level: str


class PublicKeys(Strict):
    issuer: str
    active: str = Field(description="the key id tokens are signed with now")
    keys: dict[str, str] = Field(description="key id → public key (PEM)")


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/api/v1/public/tenants", summary="The 38 tenants (省级主管部门 and the ministry)",
            response_model=list[TenantOut])
async def list_tenants() -> JSONResponse:
    return reply([{"id": t.id, "name_zh": t.name_zh, "name_en": t.name_en, "kind": t.kind}
                  for t in tenants()])


@router.get("/api/v1/public/tenants/{tenant}/cities", response_model=list[CityOut],
            summary="Prefecture-level divisions of a tenant")
async def tenant_cities(tenant: str) -> JSONResponse:
    get_tenant(tenant)
    return reply([{"code": d.code, "name_zh": d.name_zh, "level": d.level}
                  for d in cities_of(tenant)])


@router.get("/api/v1/public/keys", response_model=PublicKeys,
            summary="Public keys of the gateway's signing keys (Ed25519, PEM)")
async def public_keys(request: Request) -> JSONResponse:
    ring = request.app.state.auth.ring
    return reply({"issuer": ring.issuer, "active": ring.active_kid, "keys": ring.public_pems()})
