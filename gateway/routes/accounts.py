"""Login, sign-up and account administration (SPEC §1)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.auth.authentication import Login
from gateway.deps import AccountsDep, AuthDep, UserDep
from gateway.errors import CheckedRoute
from gateway.routes._common import errors, reply
from gateway.schemas import Strict
from services.kernel import clock
from services.kernel.clock import iso
from services.kernel.identity import ANONYMOUS, Grant, Identity

router = APIRouter(prefix="/api/v1", tags=["accounts"], route_class=CheckedRoute)
# The codes each route answers besides what every route answers (``_common.errors``).
ADMINISTERED = {403: ["account.may_not_administer"], 404: ["account.not_found"]}
GRANTS = {404: ["tenant.unknown"], 409: ["account.username_taken"],
          422: ["account.username", "account.password_weak", "account.role", "account.tenant_role",
                "location.malformed", "location.unknown", "unit.location_other_tenant",
                "uscc.length", "uscc.charset", "uscc.region", "account.email_invalid"]}


class LoginIn(BaseModel):
    username: str = Field(max_length=80)
    password: str = Field(max_length=200)


class GrantIn(BaseModel):
    role: str = Field(description="enterprise, institution, expert, city, province, ministry, partner, operator")
    tenant: str = Field(pattern=r"^\d{6}$")
    city: str = Field("", description="city accounts: the prefecture (or county) code")
    org: str = Field("", description="enterprise / institution accounts: the USCC")


class AccountIn(BaseModel):
    username: str = Field(max_length=80)
    display_name: str = Field("", max_length=200)
    password: str = Field("", max_length=200, description="empty: one is generated and returned")
    machine: bool = Field(False, description="an API-key client (no password)")
    grants: list[GrantIn] = Field(min_length=1, max_length=20)
    email: str = Field("", max_length=254,
                       description="where a forgotten password may be reset (optional)")


class SignupIn(BaseModel):
    username: str = Field(max_length=80)
    display_name: str = Field(max_length=200)
    password: str = Field(max_length=200)
    tenant: str = Field(pattern=r"^\d{6}$")
    uscc: str = Field(max_length=40)
    location: str = Field("", max_length=6,
                          description="GB/T 2260 code of the enterprise; lets its city verify it")
    email: str = Field("", max_length=254,
                       description="where a forgotten password may be reset (optional)")


class StatusIn(BaseModel):
    status: str


class ApiKeyIn(BaseModel):
    label: str = Field("", max_length=200)


# --- answers ----------------------------------------------------------------------------------


class LoggedIn(Strict):
    access_token: str
    token_type: str = Field(description="always bearer")
    expires_at: str = Field(description="when the token stops working (ISO 8601, China time)")
    expires_in: int = Field(ge=0, le=2**31 - 1, description="seconds from now until then")
    account_id: str
    grants: list[dict[str, str]] = Field(
        description="verified grants as token claims: r role, t tenant, c city, o org "
                    "(empty ones left out)")


class GrantOut(Strict):
    role: str
    tenant: str
    city: str
    org: str


class Me(Strict):
    id: str
    name: str
    grants: list[GrantOut]


class SignedUp(Strict):
    id: str
    username: str
    verified: bool


class Created(Strict):
    id: str
    username: str
    initial_password: str | None = Field(None, description="only when one was generated")


class AccountGrantOut(GrantOut):
    verified: bool


class AccountOut(Strict):
    id: str
    username: str
    display_name: str
    status: str
    machine: bool
    grants: list[AccountGrantOut]


class AuditOut(Strict):
    at: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


class Verified(Strict):
    id: str
    verified: bool


class PasswordReset(Strict):
    id: str
    temporary_password: str


class StatusOut(Strict):
    id: str
    status: str


class ApiKeyOut(Strict):
    api_key: str = Field(description="glk_<id>_<secret>; shown once")


def _account(account, grants) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "id": account.id, "username": account.username, "display_name": account.display_name,
        "status": account.status, "machine": account.machine,
        "grants": [{"role": g.role, "tenant": g.tenant, "city": g.city, "org": g.org,
                    "verified": g.verified} for g in grants],
    }


@router.post("/auth/login", summary="Log in with a password; returns a bearer token",
             response_model=LoggedIn, responses=errors({
                 401: ["auth.bad_credentials", "auth.account_disabled"],
                 403: ["auth.account_disabled"], 429: ["auth.too_many_attempts"]}, caller="open"))
async def login(body: LoginIn, auth: AuthDep, request: Request) -> JSONResponse:
    done = await asyncio.to_thread(auth.login, body.username, body.password, client_of(request))
    ident = await asyncio.to_thread(auth.identity, done.account.id)
    return reply(logged_in(done, ident))


def client_of(request: Request) -> str:
    """The caller's address, as throttles count it."""
    return request.client.host if request.client else ""


def logged_in(done: Login, ident: Identity) -> dict[str, Any]:
    """The answer of a login, and of a changed password (``LoggedIn``)."""
    return {"access_token": done.token, "token_type": "bearer",
            "expires_at": iso(done.expires_at),
            "expires_in": int((done.expires_at - clock.now()).total_seconds()),
            "account_id": done.account.id, "grants": [g.as_claim() for g in ident.grants]}


@router.get("/me", summary="Who am I: my account and verified roles", response_model=Me,
            responses=errors(caller="user", body="none"))
async def me(ident: UserDep) -> JSONResponse:
    return reply({"id": ident.subject, "name": ident.name,
                  "grants": [{"role": g.role, "tenant": g.tenant, "city": g.city, "org": g.org}
                             for g in ident.grants]})


@router.post("/signup", status_code=201, response_model=SignedUp,
             summary="Enterprise self sign-up: its USCC claim stays unverified until confirmed",
             responses=errors(GRANTS, caller="open"))
async def signup(body: SignupIn, accounts: AccountsDep) -> JSONResponse:
    account, _ = await asyncio.to_thread(
        accounts.create_account, ANONYMOUS, username=body.username, display_name=body.display_name,
        password=body.password, grants=[Grant("enterprise", body.tenant, org=body.uscc)],
        verified=False, location=body.location.strip(), email=body.email,
    )
    return reply({"id": account.id, "username": account.username, "verified": False}, 201)


@router.post("/accounts", status_code=201, response_model=Created,
             summary="Create an account (by its administrator)",
             responses=errors(GRANTS, {403: ["account.may_not_grant"], 422: [
                 "account.no_grant", "account.national_role", "account.city_outside_tenant"]},
                 caller="user"))
async def create_account(body: AccountIn, admin: UserDep, accounts: AccountsDep) -> JSONResponse:
    account, password = await asyncio.to_thread(
        accounts.create_account, admin, username=body.username, display_name=body.display_name,
        password=body.password, machine=body.machine,
        grants=[Grant(g.role, g.tenant, g.city, g.org) for g in body.grants], email=body.email,
    )
    out = {"id": account.id, "username": account.username}
    if password and not body.password:
        out["initial_password"] = password
    return reply(out, 201)


@router.get("/accounts", summary="Accounts I administer or may verify",
            response_model=list[AccountOut], responses=errors(caller="user", body="none"))
async def list_accounts(admin: UserDep, accounts: AccountsDep,
                        tenant: str | None = Query(None, pattern=r"^\d{6}$")) -> JSONResponse:
    rows = await asyncio.to_thread(accounts.listed, admin, tenant)
    return reply([_account(a, g) for a, g in rows])


@router.get("/accounts/audit", summary="The audit trail of account changes",
            response_model=list[AuditOut], responses=errors(
                {403: ["account.may_not_administer"]}, caller="user", body="none"))
async def audit_trail(admin: UserDep, accounts: AccountsDep, account_id: str = "",
                      limit: int = Query(100, ge=1, le=1000)) -> JSONResponse:
    rows = await asyncio.to_thread(accounts.audit_trail, admin, account_id, limit)
    return reply([{"at": iso(r.at), "actor": r.actor, "action": r.action, "target": r.target,
                   "detail": json.loads(r.detail or "{}")} for r in rows])


@router.post("/accounts/{account_id}/verify", summary="Confirm an enterprise's claim to its USCC",
             response_model=Verified, responses=errors(
                 {403: ["account.may_not_verify"], 404: ["account.not_found"]},
                 caller="user", body="none", in_path=True))
async def verify(account_id: str, admin: UserDep, accounts: AccountsDep) -> JSONResponse:
    account = await asyncio.to_thread(accounts.verify_enterprise, admin, account_id)
    return reply({"id": account.id, "verified": True})


@router.post("/accounts/{account_id}/password-reset", summary="Reset a password (administrator)",
             response_model=PasswordReset, responses=errors(
                 ADMINISTERED, {422: ["account.machine_has_no_password"]},
                 caller="user", body="none", in_path=True))
async def reset_password(account_id: str, admin: UserDep, accounts: AccountsDep) -> JSONResponse:
    password = await asyncio.to_thread(accounts.reset_password, admin, account_id)
    return reply({"id": account_id, "temporary_password": password})


@router.post("/accounts/{account_id}/status", summary="Disable or re-enable an account",
             response_model=StatusOut, responses=errors(
                 ADMINISTERED, {422: ["account.status"]}, caller="user", in_path=True))
async def set_status(account_id: str, body: StatusIn, admin: UserDep,
                     accounts: AccountsDep) -> JSONResponse:
    account = await asyncio.to_thread(accounts.set_status, admin, account_id, body.status)
    return reply({"id": account.id, "status": account.status})


@router.post("/accounts/{account_id}/api-keys", status_code=201, response_model=ApiKeyOut,
             summary="Issue an API key for a machine client; shown once",
             responses=errors(ADMINISTERED, {422: ["account.not_machine", "text.too_long"]},
                              caller="user", in_path=True))
async def create_api_key(account_id: str, body: ApiKeyIn, admin: UserDep,
                         accounts: AccountsDep) -> JSONResponse:
    key = await asyncio.to_thread(accounts.create_api_key, admin, account_id, body.label)
    return reply({"api_key": key}, 201)


@router.delete("/accounts/{account_id}/api-keys/{key_id}", status_code=204,
               summary="Revoke an API key", responses=errors(
                   ADMINISTERED, {404: ["api_key.not_found"]}, caller="user", body="none",
                   in_path=True))
async def revoke_api_key(account_id: str, key_id: str, admin: UserDep,
                         accounts: AccountsDep) -> Response:
    await asyncio.to_thread(accounts.revoke_api_key, admin, account_id, key_id)
    return Response(status_code=204)

