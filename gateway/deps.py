"""Typed dependencies: the caller, its language, the tenant of the path, the services."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request

from gateway.auth import Auth
from services.kernel.errors import DomainError, Kind, language
from services.kernel.identity import ANONYMOUS, Identity
from services.kernel.rpc import ServiceClient
from services.kernel.tenancy import NATIONAL, get_tenant

# Dependencies are async on purpose: FastAPI runs plain functions in a thread pool, which cost
# the gateway a sixth of its CPU per request. Only a cache miss touches the database (in a thread).


async def get_auth(request: Request) -> Auth:
    return request.app.state.auth


async def get_lang(request: Request) -> str:
    return language(request.headers.get("accept-language"))


async def get_identity(request: Request) -> Identity:
    """The verified caller, or the anonymous public."""
    auth: Auth = request.app.state.auth
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        ident = auth.cached_bearer(token) or await asyncio.to_thread(auth.identity_of_bearer, token)
    elif request.headers.get("x-api-key"):
        key = request.headers["x-api-key"].strip()
        ident = auth.cached(key) or await asyncio.to_thread(auth.from_api_key, key)
    else:
        ident = ANONYMOUS
    return ident


async def get_user(ident: Annotated[Identity, Depends(get_identity)]) -> Identity:
    if ident is ANONYMOUS:
        raise DomainError("auth.required", Kind.UNAUTHENTICATED)
    return ident


AuthDep = Annotated[Auth, Depends(get_auth)]
LangDep = Annotated[str, Depends(get_lang)]
UserDep = Annotated[Identity, Depends(get_user)]


@dataclass(frozen=True)
class TenantCall:
    """A call into one tenant: who, where, in which language, with which internal token."""

    tenant: str
    identity: Identity
    lang: str
    token: str
    clients: Any  # app.state: .registry, and each service's ServiceClient as they arrive

    async def __call__(self, client: ServiceClient, method, request,  # type: ignore[no-untyped-def]
                       timeout: float | None = None):
        return await client.call(method, request, token=self.token, tenant=self.tenant,
                                 lang=self.lang, timeout=timeout)


async def tenant_call(
    request: Request,
    tenant: Annotated[str, Path(pattern=r"^\d{6}$", description="Tenant id (GB/T 2260 code; 000000 national)")],
    ident: UserDep,
    lang: LangDep,
) -> TenantCall:
    """The tenant comes from the path and is checked against the caller's verified grants."""
    get_tenant(tenant)
    if not ident.in_tenant(tenant):
        raise DomainError("auth.wrong_tenant", Kind.FORBIDDEN, tenant=tenant)
    return TenantCall(tenant, ident, lang, request.app.state.auth.internal_token(ident),
                      request.app.state)


TenantDep = Annotated[TenantCall, Depends(tenant_call)]


async def public_call(request: Request, lang: LangDep) -> TenantCall:
    """A call for the anonymous public, into the national tenant (directories, track records)."""
    return TenantCall(NATIONAL, ANONYMOUS, lang, request.app.state.auth.internal_token(ANONYMOUS),
                      request.app.state)


PublicDep = Annotated[TenantCall, Depends(public_call)]
