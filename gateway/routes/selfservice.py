"""A person's own account (SPEC §1): log out, change the password, set the e-mail address,
reset a forgotten password by e-mail (decision 0009). Administration is ``routes.accounts``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from gateway.auth.selfservice import SelfService
from gateway.deps import AuthDep, UserDep
from gateway.errors import CheckedRoute
from gateway.routes._common import errors, reply
from gateway.routes.accounts import LoggedIn, client_of, logged_in
from gateway.schemas import Strict
from services.kernel.errors import DomainError, Kind

router = APIRouter(prefix="/api/v1", tags=["accounts"], route_class=CheckedRoute)
page = APIRouter(include_in_schema=False, route_class=CheckedRoute)
RESET_PAGE = (Path(__file__).resolve().parents[1] / "data" / "reset-password.html").read_text(
    encoding="utf-8")
# The page runs only its own inline script and talks only to this gateway.
PAGE_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
               "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
PROVEN = {403: ["auth.wrong_password"], 422: ["account.machine_has_no_password"],
          429: ["auth.too_many_attempts"]}   # the current password, asked for again
MAIL_OFF = {409: ["auth.reset_by_mail_off"]}


class LogoutIn(BaseModel):
    everywhere: bool = Field(False, description="end every session of the account, not only "
                                                "this token's")


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)


class EmailIn(BaseModel):
    email: str = Field(max_length=254, description="empty: no address (no reset by e-mail)")
    current_password: str = Field(max_length=200)


class ResetRequestIn(BaseModel):
    username: str = Field(max_length=80)


class ResetConfirmIn(BaseModel):
    token: str = Field(min_length=1, max_length=200, description="the token from the e-mail")
    new_password: str = Field(max_length=200)


class EmailOut(Strict):
    id: str
    email: str


class ResetAccepted(Strict):
    status: str = Field(description="always accepted: the same whether the account exists")


async def get_selfservice(request: Request) -> SelfService:
    return request.app.state.selfservice


SelfServiceDep = Annotated[SelfService, Depends(get_selfservice)]


@router.post("/auth/logout", status_code=204,
             summary="Log out: this login token stops working at once (everywhere: every "
                     "session of the account); idempotent",
             responses=errors({401: ["auth.logout_needs_login_token", "auth.token_expired",
                                     "auth.token_invalid"]}, caller="open"))
async def logout(request: Request, auth: AuthDep, body: LogoutIn | None = None) -> Response:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise DomainError("auth.logout_needs_login_token", Kind.UNAUTHENTICATED)
    await asyncio.to_thread(auth.logout, header[7:].strip(),
                            everywhere=bool(body and body.everywhere))
    return Response(status_code=204)


@router.post("/auth/password", response_model=LoggedIn,
             summary="Change my password; every other session ends, a fresh token is answered",
             responses=errors(PROVEN, {422: ["account.password_weak"]}, caller="user"))
async def change_password(body: PasswordChangeIn, ident: UserDep, self_service: SelfServiceDep,
                          request: Request) -> JSONResponse:
    done = await asyncio.to_thread(self_service.change_password, ident,
                                   current=body.current_password, new=body.new_password,
                                   client=client_of(request))
    fresh = await asyncio.to_thread(self_service.auth.identity, done.account.id)
    return reply(logged_in(done, fresh))


@router.put("/me/email", response_model=EmailOut,
            summary="Set (or clear) the e-mail address a forgotten password is reset by",
            responses=errors(PROVEN, {422: ["account.email_invalid"]}, caller="user"))
async def set_email(body: EmailIn, ident: UserDep, self_service: SelfServiceDep,
                    request: Request) -> JSONResponse:
    email = await asyncio.to_thread(self_service.set_email, ident, email=body.email,
                                    password=body.current_password, client=client_of(request))
    return reply({"id": ident.subject, "email": email})


@router.post("/auth/password-reset", status_code=202, response_model=ResetAccepted,
             summary="Forgotten password: a one-time reset token is mailed to the account's "
                     "address shortly after (the same answer whether or not the account exists)",
             responses=errors(MAIL_OFF, {429: ["auth.too_many_resets"]}, caller="open"))
async def request_password_reset(body: ResetRequestIn, self_service: SelfServiceDep,
                                 request: Request) -> JSONResponse:
    await asyncio.to_thread(self_service.request_reset, body.username, client_of(request))
    return reply({"status": "accepted"}, 202)


@router.post("/auth/password-reset/confirm", status_code=204,
             summary="Set a new password with the token from the e-mail; every session ends",
             responses=errors(MAIL_OFF, {422: ["auth.reset_token_invalid",
                                               "account.password_weak"]}, caller="open"))
async def confirm_password_reset(body: ResetConfirmIn,
                                 self_service: SelfServiceDep) -> Response:
    await asyncio.to_thread(self_service.confirm_reset, body.token, body.new_password)
    return Response(status_code=204)


@page.get("/reset-password")
async def reset_password_page() -> HTMLResponse:
    """Where the link in a reset e-mail leads: a form (zh-CN and English) that sends the token
    and the new password to ``POST /api/v1/auth/password-reset/confirm``. The token stays out of
    the server's logs: the page reads it from the address in the browser."""
    return HTMLResponse(RESET_PAGE, headers={"Content-Security-Policy": PAGE_POLICY,
                                             "Referrer-Policy": "no-referrer",
                                             "Cache-Control": "no-store"})
