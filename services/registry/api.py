"""The registry's gRPC servicer: proto ⇄ handlers (use cases).

Each method turns its request into a use case's keyword arguments and the result into proto. One
does more: the veto check asks the institutions service, over gRPC on the caller's behalf,
whether an institution holds an engagement on the unit, and hands the answer to the use case,
which decides who must be vouched for and what the answer means (domain/access.py)."""

from __future__ import annotations

from typing import Any

from generated.common.v1 import common_pb2
from generated.institutions.v1 import institutions_pb2
from generated.institutions.v1.institutions_pb2_grpc import InstitutionsStub
from generated.registry.v1 import registry_pb2 as pb
from generated.registry.v1 import registry_pb2_grpc
from services.kernel.clock import iso
from services.kernel.errors import DomainError
from services.kernel.identity import current_identity
from services.kernel.rpc import ServiceClient, current_language
from services.kernel.runtime import Runtime, Servicer
from services.kernel.tenancy import current_tenant
from services.registry import domain, handlers
from services.registry.store import ComplianceRecord, Plan, PlanEntry, SupplierLink, Target, Unit


def unit_pb(u: Unit, *, with_ownership_key: bool = False) -> pb.Unit:
    msg = pb.Unit(
        id=u.id, kind=u.kind, uscc=u.uscc, site=u.site, name=u.name, location=u.location,
        city=u.city, tenant=current_tenant(), industry=u.industry, status=u.status,
        merged_into=u.merged_into, uscc_checksum_override=u.uscc_checksum_override,
        uscc_override_reason=u.uscc_override_reason, park_level=u.park_level,
        park_boundary=u.park_boundary, created_at=iso(u.created_at),
        updated_at=iso(u.updated_at), version=u.version, parent_uscc=u.parent_uscc,
        legal_representative=u.legal_representative,
        legal_rep_key=u.legal_rep_key if with_ownership_key else "",
        legal_rep_masked=u.legal_rep_masked, ownership_declared=bool(u.legal_rep_key),
    )
    if u.industrial_value_added_share is not None:
        msg.industrial_value_added_share = u.industrial_value_added_share
    return msg


def record_pb(r: ComplianceRecord) -> pb.ComplianceRecord:
    return pb.ComplianceRecord(
        id=r.id, unit_id=r.unit_id, kind=r.kind, condition=r.condition,
        occurred_on=r.occurred_on.isoformat(), ended_on=r.ended_on.isoformat() if r.ended_on else "",
        description=r.description, source=r.source, reference=r.reference,
        recorded_by=r.recorded_by, recorded_at=iso(r.recorded_at),
    )


def target_pb(t: Target, active_on: Any = None) -> pb.Target:
    active = active_on is not None and t.valid_from <= active_on <= t.valid_until
    return pb.Target(id=t.id, unit_id=t.unit_id, category=t.category,
                     valid_from=t.valid_from.isoformat(), valid_until=t.valid_until.isoformat(),
                     note=t.note, active=active)


def supplier_pb(link: SupplierLink) -> pb.Supplier:
    return pb.Supplier(uscc=link.uscc, name=link.name, tenant=link.tenant)


def plan_pb(plan: Plan, entries: list[PlanEntry], ids: dict[str, str],
            levels: dict[str, str]) -> pb.Plan:
    msg = pb.Plan(id=plan.id, owner_id=plan.owner_id, kind=plan.kind, year=plan.year,
                  title=plan.title, named=len(entries))
    for e in entries:
        level = levels.get(e.uscc, "")
        msg.entries.append(pb.PlanEntry(uscc=e.uscc, name=e.name, tenant=e.tenant,
                                        unit_id=ids.get(e.uscc, ""), green_level=level))
        if level:
            msg.became_green += 1
            msg.by_level[level] = msg.by_level.get(level, 0) + 1
    return msg


def import_pb(rows: list[dict]) -> common_pb2.ImportResult:
    result = common_pb2.ImportResult()
    for row in rows:
        result.rows.append(common_pb2.RowResult(**row))
        if row["accepted"]:
            result.accepted += 1
        else:
            result.refused += 1
    return result


class RegistryApi(Servicer, registry_pb2_grpc.RegistryServicer):
    def __init__(self, runtime: Runtime, institutions: ServiceClient) -> None:
        super().__init__(runtime)
        self.institutions = institutions

    async def RegisterUnit(self, r, context):  # type: ignore[no-untyped-def]
        unit, created = await self._run(
            handlers.register_unit, kind=r.kind, uscc=r.uscc, site=r.site, name=r.name,
            location=r.location, industry=r.industry, uscc_override_reason=r.uscc_override_reason,
            park_level=r.park_level,
            industrial_value_added_share=(
                r.industrial_value_added_share if r.HasField("industrial_value_added_share") else None
            ),
            park_boundary=r.park_boundary,
        )
        return pb.RegisterUnitResponse(unit=unit_pb(unit), created=created)

    async def GetUnit(self, r, context):  # type: ignore[no-untyped-def]
        return unit_pb(await self._read(handlers.get_unit, unit_id=r.unit_id),
                       with_ownership_key=r.with_ownership_key)

    async def FindUnits(self, r, context):  # type: ignore[no-untyped-def]
        units, token = await self._read(
            handlers.find_units, uscc=r.uscc, kind=r.kind, city=r.city,
            name_contains=r.name_contains, page_size=r.page_size, page_token=r.page_token,
        )
        return pb.FindUnitsResponse(units=[unit_pb(u) for u in units], next_page_token=token)

    async def UnitHistory(self, r, context):  # type: ignore[no-untyped-def]
        changes = await self._read(handlers.history, unit_id=r.unit_id)
        return pb.UnitHistoryResponse(changes=[
            pb.UnitChange(kind=c.kind, field_from=c.field_from, field_to=c.field_to,
                          effective_on=c.effective_on.isoformat() if c.effective_on else "",
                          reason=c.reason, actor=c.actor, at=iso(c.at))
            for c in changes
        ])

    async def RenameUnit(self, r, context):  # type: ignore[no-untyped-def]
        return unit_pb(await self._run(handlers.rename_unit, unit_id=r.unit_id,
                                       new_name=r.new_name, effective_on=r.effective_on,
                                       reason=r.reason))

    async def RelocateUnit(self, r, context):  # type: ignore[no-untyped-def]
        return unit_pb(await self._run(handlers.relocate_unit, unit_id=r.unit_id,
                                       new_location=r.new_location, new_site=r.new_site,
                                       effective_on=r.effective_on, reason=r.reason))

    async def MergeUnits(self, r, context):  # type: ignore[no-untyped-def]
        return unit_pb(await self._run(handlers.merge_units, absorbed_id=r.absorbed_id,
                                       into_id=r.into_id, effective_on=r.effective_on,
                                       reason=r.reason))

    async def ImportUnits(self, r, context):  # type: ignore[no-untyped-def]
        return import_pb(await self._run(handlers.import_units, content=r.content,
                                         fmt=r.format, lang=current_language()))

    async def SetParkMembers(self, r, context):  # type: ignore[no-untyped-def]
        park, members = await self._run(handlers.set_park_members, park_id=r.park_id,
                                         member_ids=list(r.member_ids))
        return pb.ParkMembers(park_id=park.id, members=[unit_pb(u) for u in members])

    async def GetParkMembers(self, r, context):  # type: ignore[no-untyped-def]
        park, members = await self._read(handlers.park_members, park_id=r.unit_id)
        return pb.ParkMembers(park_id=park.id, members=[unit_pb(u) for u in members])

    async def SetSuppliers(self, r, context):  # type: ignore[no-untyped-def]
        links = await self._run(handlers.set_suppliers, unit_id=r.unit_id,
                                suppliers=[(x.uscc, x.name, x.tenant) for x in r.suppliers])
        return pb.Suppliers(unit_id=r.unit_id, suppliers=[supplier_pb(x) for x in links])

    async def GetSuppliers(self, r, context):  # type: ignore[no-untyped-def]
        links = await self._read(handlers.suppliers, unit_id=r.unit_id)
        return pb.Suppliers(unit_id=r.unit_id, suppliers=[supplier_pb(x) for x in links])

    async def DesignateTarget(self, r, context):  # type: ignore[no-untyped-def]
        target = await self._run(handlers.designate_target, unit_id=r.unit_id,
                                 category=r.category, valid_from=r.valid_from, note=r.note)
        return target_pb(target, target.valid_from)

    async def ListTargets(self, r, context):  # type: ignore[no-untyped-def]
        day, targets = await self._read(handlers.list_targets, active_on=r.active_on,
                                       include_expired=r.include_expired)
        return pb.ListTargetsResponse(targets=[target_pb(t, day) for t in targets])

    async def PublishPlan(self, r, context):  # type: ignore[no-untyped-def]
        plan = await self._run(handlers.publish_plan, owner_id=r.owner_id, year=r.year,
                               title=r.title,
                               entries=[(e.uscc, e.name, e.tenant) for e in r.entries])
        (view,) = await self._read(handlers.plan_view, plan_id=plan.id)
        return plan_pb(*view)

    async def GetPlan(self, r, context):  # type: ignore[no-untyped-def]
        (view,) = await self._read(handlers.plan_view, plan_id=r.plan_id)
        return plan_pb(*view)

    async def ListPlans(self, r, context):  # type: ignore[no-untyped-def]
        views = await self._read(handlers.plan_view, owner_id=r.unit_id)
        return pb.ListPlansResponse(plans=[plan_pb(*v) for v in views])

    async def AddComplianceRecord(self, r, context):  # type: ignore[no-untyped-def]
        records = await self._run(
            handlers.add_compliance_record, unit_id=r.unit_id, uscc=r.uscc, kind=r.kind,
            occurred_on=r.occurred_on, ended_on=r.ended_on, description=r.description,
            source=r.source, reference=r.reference,
        )
        return record_pb(records[0][0])

    async def EndComplianceRecord(self, r, context):  # type: ignore[no-untyped-def]
        return record_pb(await self._run(handlers.end_compliance_record, unit_id=r.unit_id,
                                         record_id=r.record_id, ended_on=r.ended_on,
                                         reason=r.reason))

    async def ListComplianceRecords(self, r, context):  # type: ignore[no-untyped-def]
        records = await self._read(handlers.list_compliance, unit_id=r.unit_id)
        return pb.ListComplianceRecordsResponse(records=[record_pb(x) for x in records])

    async def ImportComplianceRecords(self, r, context):  # type: ignore[no-untyped-def]
        return import_pb(await self._run(handlers.import_compliance, content=r.content,
                                         fmt=r.format, lang=current_language()))

    async def SetOwnership(self, r, context):  # type: ignore[no-untyped-def]
        return unit_pb(await self._run(handlers.set_ownership, unit_id=r.unit_id,
                                       parent_uscc=r.parent_uscc,
                                       legal_representative=r.legal_representative,
                                       legal_rep_id=r.legal_rep_id))

    async def _engagement(self, unit_id: str) -> domain.Engagement | None:
        """The institutions service's answer, asked on the caller's behalf, to whether it holds an
        accepted engagement on the unit — asked only when the use case says the caller must be
        vouched for; what the answer means is the use case's to decide."""
        tenant = current_tenant()
        if not handlers.must_be_vouched(ident=current_identity(), tenant=tenant):
            return None
        try:
            await self.institutions.on_behalf(
                self.institutions.stub(InstitutionsStub).CheckEngagement,
                institutions_pb2.CheckEngagementRequest(unit_id=unit_id), tenant=tenant)
        except DomainError as exc:
            if not domain.answers_engagement(exc.code):
                raise  # no answer (unavailable, refused): the institutions service's error stands
            return domain.Engagement(unit_id=unit_id, refused=exc.code)
        return domain.Engagement(unit_id=unit_id)

    async def CheckVeto(self, r, context):  # type: ignore[no-untyped-def]
        engagement = await self._engagement(r.unit_id)
        unit, outcome, rows = await self._read(handlers.check_veto, unit_id=r.unit_id, on=r.on,
                                              engagement=engagement)
        lang = current_language()
        return pb.VetoResult(
            unit_id=unit.id, on=outcome.on.isoformat(), window_from=outcome.window_from.isoformat(),
            vetoed=outcome.vetoed,
            conditions=[
                pb.VetoCondition(condition=c, code=domain.condition_code(c),
                                 title=domain.condition_title(c, lang),
                                 records=[record_pb(rows[rec.id]) for rec in recs])
                for c, recs in outcome.triggered.items()
            ],
        )
