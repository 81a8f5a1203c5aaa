"""Typed dependencies: the caller, its language, the tenant of the path, the services."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from gateway import docs
from gateway.auth import Accounts, Auth
from gateway.clients import Bound
from generated.common.v1.common_pb2_grpc import AuditStub
from generated.evaluation.v1.evaluation_pb2_grpc import EvaluationStub
from generated.institutions.v1.institutions_pb2_grpc import InstitutionsStub
from generated.registry.v1.registry_pb2_grpc import RegistryStub
from services.kernel.errors import DomainError, Kind, language
from services.kernel.identity import ANONYMOUS, Identity
from services.kernel.tenancy import NATIONAL, get_tenant

if TYPE_CHECKING:  # the asynchronous stubs exist only in the generated type stubs (.pyi)
    from generated.common.v1.common_pb2_grpc import AuditAsyncStub
    from generated.evaluation.v1.evaluation_pb2_grpc import EvaluationAsyncStub
    from generated.institutions.v1.institutions_pb2_grpc import InstitutionsAsyncStub
    from generated.registry.v1.registry_pb2_grpc import RegistryAsyncStub

Service = Literal["registry", "evaluation", "institutions"]

# Dependencies are async on purpose: FastAPI runs plain functions in a thread pool, which cost
# the gateway a sixth of its CPU per request. Only a cache miss touches the database (in a thread).


async def get_auth(request: Request) -> Auth:
    return request.app.state.auth


async def get_accounts(request: Request) -> Accounts:
    return request.app.state.accounts


async def get_lang(request: Request) -> str:
    return language(request.headers.get("accept-language"))


async def get_identity(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(docs.bearer)] = None,
    _api_key: Annotated[str | None, Security(docs.api_key)] = None,
) -> Identity:
    """The verified caller, or the anonymous public. (The two security parameters only declare
    the schemes in OpenAPI; the headers are read here, so refusals keep the API's shape.)"""
    return await identity_of(request)


async def identity_of(request: Request) -> Identity:
    auth: Auth = request.app.state.auth
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        return auth.cached_bearer(token) or await asyncio.to_thread(auth.identity_of_bearer, token)
    key = request.headers.get("x-api-key")
    if key:
        key = key.strip()
        return auth.cached(key) or await asyncio.to_thread(auth.from_api_key, key)
    return ANONYMOUS


def signed_in(ident: Identity) -> Identity:
    """The caller, unless it is the anonymous public (refused: sign in first)."""
    if ident is ANONYMOUS:
        raise DomainError("auth.required", Kind.UNAUTHENTICATED)
    return ident


async def get_user(ident: Annotated[Identity, Depends(get_identity)]) -> Identity:
    return signed_in(ident)


AuthDep = Annotated[Auth, Depends(get_auth)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]
LangDep = Annotated[str, Depends(get_lang)]
UserDep = Annotated[Identity, Depends(get_user)]


@dataclass(frozen=True)
class TenantCall:
    """A call into one tenant: who, where, in which language, with which internal token.

    ``call.registry.GetUnit(req)``, ``call.evaluation.SubmitEvaluation(req, timeout=...)``,
    ``call.institutions.Engage(req)``, ``call.audit("registry").VerifyChain(req)``: each is the
    service's generated stub, bound to this caller (see ``gateway.clients``)."""

    tenant: str
    identity: Identity
    lang: str
    token: str
    clients: Any  # app.state: .registry, .evaluation, .institutions (ServiceClient), .db

    @property
    def registry(self) -> RegistryAsyncStub:
        return cast("RegistryAsyncStub", Bound(self.clients.registry, RegistryStub, self))

    @property
    def evaluation(self) -> EvaluationAsyncStub:
        return cast("EvaluationAsyncStub", Bound(self.clients.evaluation, EvaluationStub, self))

    @property
    def institutions(self) -> InstitutionsAsyncStub:
        return cast("InstitutionsAsyncStub",
                    Bound(self.clients.institutions, InstitutionsStub, self))

    def audit(self, service: Service) -> AuditAsyncStub:
        """The hash-chain audit every service answers (common.v1.Audit)."""
        return cast("AuditAsyncStub", Bound(getattr(self.clients, service), AuditStub, self))


async def tenant_call(
    request: Request,
    tenant: Annotated[str, Path(pattern=r"^\d{6}$", description="Tenant id (GB/T 2260 code; 000000 national)")],
) -> TenantCall:
    """The verified caller, in the tenant of the path, checked against the caller's grants.
    One dependency doing what ``UserDep`` and ``LangDep`` do: every tenant route takes it, and
    each dependency FastAPI resolves costs a request ~10 µs (issue 11). For the same reason it
    declares no security scheme parameters: ``docs.secure_tenant_routes`` states the schemes of
    every operation under ``TENANT_PREFIX`` in the OpenAPI document instead."""
    ident = signed_in(await identity_of(request))
    get_tenant(tenant)
    if not ident.in_tenant(tenant):
        raise DomainError("auth.wrong_tenant", Kind.FORBIDDEN, tenant=tenant)
    lang = language(request.headers.get("accept-language"))
    return TenantCall(tenant, ident, lang, request.app.state.auth.internal_token(ident),
                      request.app.state)


TenantDep = Annotated[TenantCall, Depends(tenant_call)]


async def public_call(request: Request, lang: LangDep) -> TenantCall:
    """A call for the anonymous public, into the national tenant (directories, track records)."""
    return TenantCall(NATIONAL, ANONYMOUS, lang, request.app.state.auth.internal_token(ANONYMOUS),
                      request.app.state)


PublicDep = Annotated[TenantCall, Depends(public_call)]
