"""The national and provincial read model (SPEC §11), built from every tenant's registry events.

It lives in the gateway's database; each event applies once (the kernel's inbox). Views answer
within seconds of the change, without asking the services.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.deps import TenantDep, UserDep
from gateway.errors import CheckedRoute
from gateway.routes._common import errors, reply
from gateway.store import ViewUnit
from generated.events.v1 import events_pb2 as ev
from services.kernel.bus import Event, Subscription
from services.kernel.clock import CST
from services.kernel.errors import DomainError, Kind
from services.kernel.identity import visible_scope
from services.kernel.runtime import Runtime
from services.kernel.tenancy import NATIONAL

router = APIRouter(tags=["views"], route_class=CheckedRoute)
By = Literal["tenant", "kind", "city", "industry"]


def on_unit_registered(_rt: Runtime, session: Session, event: Event[ev.UnitRegistered]) -> None:
    body = event.body
    if session.get(ViewUnit, body.unit_id) is None:
        session.add(ViewUnit(unit_id=body.unit_id, tenant=event.tenant, kind=body.kind,
                             city=body.city, location=body.location, industry=body.industry,
                             registered_at=event.envelope.occurred_at.ToDatetime(tzinfo=CST)))


def on_unit_relocated(_rt: Runtime, session: Session, event: Event[ev.UnitRelocated]) -> None:
    row = session.get(ViewUnit, event.body.unit_id)
    if row is not None:
        row.city, row.location = event.body.new_city, event.body.new_location
        session.add(row)


def on_units_merged(_rt: Runtime, session: Session, event: Event[ev.UnitsMerged]) -> None:
    row = session.get(ViewUnit, event.body.absorbed_id)
    if row is not None:
        row.status = "merged"
        session.add(row)


SUBSCRIPTIONS = [
    Subscription(name="gateway-views-registry", service="registry", event_type=">",
                 handlers={ev.UnitRegistered: on_unit_registered,
                           ev.UnitRelocated: on_unit_relocated,
                           ev.UnitsMerged: on_units_merged}),
]


def _summary(db, by: str, tenant: str | None, prefix: str) -> list[dict]:  # type: ignore[no-untyped-def]
    column = {"tenant": ViewUnit.tenant, "kind": ViewUnit.kind, "city": ViewUnit.city,
              "industry": func.substr(ViewUnit.industry, 1, 2)}[by]
    q = select(column, ViewUnit.kind, func.count()).where(ViewUnit.status == "active")
    if tenant:
        q = q.where(ViewUnit.tenant == tenant)
    if prefix:  # a city's or a county's own units
        q = q.where(col(ViewUnit.location).startswith(prefix))
    q = q.group_by(column, ViewUnit.kind).order_by(column, ViewUnit.kind)
    with db.session(NATIONAL) as s:
        return [{by: key, "kind": kind, "units": n} for key, kind, n in s.exec(q)]


_COUNTS = {"description": "one row per group and kind: ``{<by>: key, kind, units}``, the key "
           "under the name of the grouping (tenant, kind, city or industry division)"}
Counts = list[dict[str, str | int]]


@router.get("/api/v1/national/views/units", response_model=Counts,
            responses={**errors({403: ["auth.forbidden_role"]}, caller="user", body="none"),
                       200: _COUNTS},
            summary="National view: active units by tenant, kind, city or industry (ministry)")
async def national_units(request: Request, ident: UserDep, by: By = "tenant",
                         tenant: str = Query("", pattern=r"^(\d{6})?$")) -> JSONResponse:
    if "ministry" not in ident.roles():
        raise DomainError("auth.forbidden_role", Kind.FORBIDDEN, tenant=NATIONAL, roles="ministry")
    return reply(await asyncio.to_thread(_summary, request.app.state.db, by, tenant or None, ""))


@router.get("/api/v1/tenants/{tenant}/views/units", response_model=Counts,
            responses={**errors(body="none"), 200: _COUNTS},
            summary="Provincial view: active units of this tenant (a city sees its own)")
async def tenant_units(call: TenantDep, by: By = "city") -> JSONResponse:
    scope = visible_scope(call.identity, call.tenant, ("city", "province", "ministry"))
    return reply(await asyncio.to_thread(_summary, call.clients.db, by, call.tenant,
                                         scope.location_prefix))
