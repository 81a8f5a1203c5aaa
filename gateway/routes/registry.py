"""Registry routes (SPEC §3, §5) under ``/api/v1/tenants/{tenant}/``: thin — validate the shape,
call the registry with the caller's identity, return its answer as JSON. The registry enforces
the rules and the jurisdictions again."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.deps import Service, TenantDep
from gateway.errors import CheckedRoute
from gateway.routes._common import IMPORT_TIMEOUT, as_json, errors, import_request, reply
from gateway.schemas import Strict, model_of
from generated.common.v1 import common_pb2
from generated.registry.v1 import registry_pb2 as pb

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["registry"],
                   route_class=CheckedRoute)
Kind = Literal["factory", "park", "supply_chain"]
Unit = model_of(pb.Unit)
ImportResult = model_of(common_pb2.ImportResult)


class Registered(Strict):
    created: bool
    unit: Unit  # type: ignore[valid-type]


# --- the codes the registry answers (``errors``: per route, besides what every route answers) --

SEEN = {403: ["auth.not_your_unit", "auth.outside_city"]}  # a city its own, an enterprise its own
UNIT = {**SEEN, 404: ["unit.not_found"]}
USCC = ["uscc.length", "uscc.charset", "uscc.region"]
USCC_CHECKED = [*USCC, "uscc.checksum", "uscc.override_reason_required"]
DATES = ["date.malformed", "date.out_of_range"]
NAME = ["unit.name_required", "unit.name_too_long"]
LOCATION = ["location.malformed", "location.unknown", "unit.location_other_tenant"]
CHANGE = {422: [*DATES, "text.too_long"]}
COMPLIANCE = {422: ["compliance.kind_unknown", "compliance.in_the_future",
                    "compliance.ended_before_start", *DATES, "text.too_long"]}
IMPORT = {422: ["request.file_format", "import.empty", "import.encoding", "import.csv_malformed",
                "import.xlsx_malformed", "import.format", "import.columns_missing",
                "import.columns_unknown", "import.too_many_rows"]}


# --- request bodies ---------------------------------------------------------------------------


class UnitIn(BaseModel):
    kind: Kind
    uscc: str = Field(max_length=40, description="统一社会信用代码 (GB 32100-2015)")
    site: str = Field("", max_length=200, description="site name when an enterprise has several")
    name: str = Field(max_length=200)
    location: str = Field(max_length=6, description="GB/T 2260 county (or prefecture) code")
    industry: str = Field("", max_length=4, description="GB/T 4754-2017 4-digit class")
    uscc_override_reason: str = Field(
        "", max_length=500, description="accept a code that fails the checksum, with a reason")
    park_level: str = Field("", description="parks: national | provincial | municipal")
    industrial_value_added_share: float | None = Field(None, ge=0, le=100)
    park_boundary: str = Field("", max_length=2000)


class RenameIn(BaseModel):
    new_name: str = Field(max_length=200)
    effective_on: str = ""
    reason: str = Field("", max_length=1000)


class OwnershipIn(BaseModel):
    parent_uscc: str = Field("", max_length=40,
                             description="parent company or controlling shareholder (USCC); empty: none")
    legal_representative: str = Field(max_length=100)
    legal_rep_id: str = Field(max_length=40, description="居民身份证号码; kept only as a key and masked")


class RelocateIn(BaseModel):
    new_location: str = Field(max_length=6)
    new_site: str = Field("", max_length=200)
    effective_on: str = ""
    reason: str = Field("", max_length=1000)


class MergeIn(BaseModel):
    into_id: str
    effective_on: str = ""
    reason: str = Field("", max_length=1000)


class MembersIn(BaseModel):
    member_ids: list[str] = Field(max_length=5000)


class SupplierIn(BaseModel):
    uscc: str = Field(max_length=40)
    name: str = Field(max_length=200)
    tenant: str = Field(pattern=r"^\d{6}$", description="the supplier's reporting tenant")


class SuppliersIn(BaseModel):
    suppliers: list[SupplierIn] = Field(max_length=5000)


class TargetIn(BaseModel):
    unit_id: str
    category: Kind
    valid_from: str = ""
    note: str = Field("", max_length=1000)


class PlanEntryIn(BaseModel):
    uscc: str = Field(max_length=40)
    name: str = Field(max_length=200)
    tenant: str = Field("", description="ignored: taken from the membership or supplier list")


class PlanIn(BaseModel):
    year: int = Field(ge=2000, le=2100)
    title: str = Field("", max_length=200)
    entries: list[PlanEntryIn] = Field(min_length=1, max_length=5000)


class ComplianceIn(BaseModel):
    kind: str = Field(description="see GET /api/v1/public/compliance-kinds")
    occurred_on: str
    ended_on: str = ""
    description: str = Field("", max_length=2000)
    source: str = Field("official", max_length=40)
    reference: str = Field("", max_length=200)


# --- units ------------------------------------------------------------------------------------


@router.post("/units", summary="Register a unit (idempotent on USCC + site)",
             response_model=Registered,
             responses={**errors(SEEN, {422: [
                 *USCC_CHECKED, *NAME, *LOCATION, "unit.kind_unknown", "unit.industry_malformed",
                 "unit.industry_unknown", "unit.not_manufacturing", "unit.park_level",
                 "unit.park_fields_on_non_park", "unit.share_range", "text.too_long"]}),
                        201: {"description": "registered", "model": Registered},
                        200: {"description": "already there"}})
async def register_unit(body: UnitIn, call: TenantDep) -> JSONResponse:
    req = pb.RegisterUnitRequest(**body.model_dump(exclude={"industrial_value_added_share"}))
    if body.industrial_value_added_share is not None:
        req.industrial_value_added_share = body.industrial_value_added_share
    result = await call.registry.RegisterUnit(req)
    return reply({"created": result.created, "unit": as_json(result.unit)},
                 201 if result.created else 200)


@router.get("/units", summary="Find units (by USCC, kind, city, name)",
            response_model=model_of(pb.FindUnitsResponse),
            responses=errors(SEEN, {422: [*USCC, "unit.kind_unknown", "unit.page_token"]},
                             body="none"))
async def find_units(
    call: TenantDep,
    uscc: str = Query("", max_length=40),
    kind: Kind | None = None,
    city: str = Query("", pattern=r"^(\d{4}|\d{6})?$"),
    q: str = Query("", max_length=100, description="name contains"),
    page_size: int = Query(50, ge=1, le=200),
    page_token: str = "",
) -> JSONResponse:
    result = await call.registry.FindUnits(pb.FindUnitsRequest(
        uscc=uscc, kind=kind or "", city=city, name_contains=q, page_size=page_size,
        page_token=page_token))
    return reply(as_json(result))


@router.post("/units/import", summary="Bulk import units from CSV or XLSX; a result per row",
             response_model=ImportResult,
             responses=errors(SEEN, IMPORT, body="form"))
async def import_units(call: TenantDep, file: UploadFile = File(...)) -> JSONResponse:
    request = await import_request(file, pb.ImportRequest)
    return reply(as_json(await call.registry.ImportUnits(request, timeout=IMPORT_TIMEOUT)))


@router.get("/units/{unit_id}", summary="One unit", response_model=Unit,
            responses=errors(UNIT, body="none"))
async def get_unit(unit_id: str, call: TenantDep) -> JSONResponse:
    return reply(as_json(await call.registry.GetUnit(pb.GetUnitRequest(unit_id=unit_id))))


@router.get("/units/{unit_id}/history", summary="Renames, relocations and mergers of a unit",
            response_model=model_of(pb.UnitHistoryResponse),
            responses=errors(UNIT, body="none"))
async def unit_history(unit_id: str, call: TenantDep) -> JSONResponse:
    return reply(as_json(await call.registry.UnitHistory(pb.GetUnitRequest(unit_id=unit_id))))


@router.post("/units/{unit_id}/rename", summary="Record a name change (history kept)",
             response_model=Unit,
             responses=errors(UNIT, CHANGE, {422: NAME}))
async def rename_unit(unit_id: str, body: RenameIn, call: TenantDep) -> JSONResponse:
    request = pb.RenameUnitRequest(unit_id=unit_id, **body.model_dump())
    return reply(as_json(await call.registry.RenameUnit(request)))


@router.post("/units/{unit_id}/relocate", summary="Record a relocation inside the tenant",
             response_model=Unit,
             responses=errors(UNIT, CHANGE, {409: ["unit.site_taken"], 422: LOCATION}))
async def relocate_unit(unit_id: str, body: RelocateIn, call: TenantDep) -> JSONResponse:
    request = pb.RelocateUnitRequest(unit_id=unit_id, **body.model_dump())
    return reply(as_json(await call.registry.RelocateUnit(request)))


@router.put("/units/{unit_id}/ownership", response_model=Unit,
            summary="Declare the unit's parent company and legal representative (related parties)",
            responses=errors(UNIT, {422: [*USCC_CHECKED, "person_id.format", "person_id.birth_date",
                             "person_id.checksum", "unit.parent_is_self", "field.required",
                             "text.too_long"]}))
async def set_ownership(unit_id: str, body: OwnershipIn, call: TenantDep) -> JSONResponse:
    request = pb.SetOwnershipRequest(unit_id=unit_id, **body.model_dump())
    return reply(as_json(await call.registry.SetOwnership(request)))


@router.post("/units/{unit_id}/merge", summary="Merge this unit into another (it keeps its id)",
             response_model=Unit,
             responses=errors(UNIT, CHANGE, {409: ["unit.already_merged", "unit.merge_into_merged"],
                              422: ["unit.merge_self"]}))
async def merge_units(unit_id: str, body: MergeIn, call: TenantDep) -> JSONResponse:
    request = pb.MergeUnitsRequest(absorbed_id=unit_id, **body.model_dump())
    return reply(as_json(await call.registry.MergeUnits(request)))


@router.put("/units/{unit_id}/members", summary="A park's member units (the whole list)",
            response_model=model_of(pb.ParkMembers),
            responses=errors(UNIT, {422: ["unit.not_a_park", "park.member_kind"]}))
async def set_members(unit_id: str, body: MembersIn, call: TenantDep) -> JSONResponse:
    request = pb.SetParkMembersRequest(park_id=unit_id, member_ids=body.member_ids)
    return reply(as_json(await call.registry.SetParkMembers(request)))


@router.get("/units/{unit_id}/members", summary="A park's member units",
            response_model=model_of(pb.ParkMembers),
            responses=errors(UNIT, body="none"))
async def get_members(unit_id: str, call: TenantDep) -> JSONResponse:
    return reply(as_json(await call.registry.GetParkMembers(pb.GetUnitRequest(unit_id=unit_id))))


@router.put("/units/{unit_id}/suppliers", response_model=model_of(pb.Suppliers),
            summary="A supply-chain enterprise's suppliers (any province)",
            responses=errors(UNIT, {422: [*USCC, *NAME, "unit.not_supply_chain",
                             "tenant.unknown"]}))
async def set_suppliers(unit_id: str, body: SuppliersIn, call: TenantDep) -> JSONResponse:
    request = pb.SetSuppliersRequest(
        unit_id=unit_id, suppliers=[pb.Supplier(**s.model_dump()) for s in body.suppliers])
    return reply(as_json(await call.registry.SetSuppliers(request)))


@router.get("/units/{unit_id}/suppliers", summary="A supply-chain enterprise's suppliers",
            response_model=model_of(pb.Suppliers),
            responses=errors(UNIT, body="none"))
async def get_suppliers(unit_id: str, call: TenantDep) -> JSONResponse:
    return reply(as_json(await call.registry.GetSuppliers(pb.GetUnitRequest(unit_id=unit_id))))


@router.post("/units/{unit_id}/plans", response_model=model_of(pb.Plan),
             summary="Publish the park's or supply chain's cultivation plan for a year",
             responses=errors(UNIT, {422: [*USCC, *NAME, "plan.owner_kind", "plan.not_a_member",
                              "plan.not_a_supplier", "plan.empty", "plan.year", "text.too_long"]}))
async def publish_plan(unit_id: str, body: PlanIn, call: TenantDep) -> JSONResponse:
    request = pb.PublishPlanRequest(
        owner_id=unit_id, year=body.year, title=body.title,
        entries=[pb.PlanEntry(uscc=e.uscc, name=e.name, tenant=e.tenant) for e in body.entries])
    return reply(as_json(await call.registry.PublishPlan(request)))


@router.get("/units/{unit_id}/plans", summary="A unit's cultivation plans with progress",
            response_model=model_of(pb.ListPlansResponse),
            responses=errors(UNIT, body="none"))
async def list_plans(unit_id: str, call: TenantDep) -> JSONResponse:
    return reply(as_json(await call.registry.ListPlans(pb.GetUnitRequest(unit_id=unit_id))))


@router.get("/plans/{plan_id}", summary="One cultivation plan with progress",
            response_model=model_of(pb.Plan),
            responses=errors(UNIT, {404: ["plan.not_found"]}, body="none"))
async def get_plan(plan_id: str, call: TenantDep) -> JSONResponse:
    return reply(as_json(await call.registry.GetPlan(pb.GetPlanRequest(plan_id=plan_id))))


# --- targets ----------------------------------------------------------------------------------


@router.post("/targets", status_code=201, response_model=model_of(pb.Target),
             summary="Designate a cultivation target (培育对象; province)",
             responses=errors(UNIT, CHANGE, {422: ["unit.kind_unknown",
                              "target.category_mismatch"]}))
async def designate_target(body: TargetIn, call: TenantDep) -> JSONResponse:
    request = pb.DesignateTargetRequest(**body.model_dump())
    return reply(as_json(await call.registry.DesignateTarget(request)), 201)


@router.get("/targets", summary="Cultivation targets valid on a day",
            response_model=model_of(pb.ListTargetsResponse),
            responses=errors({422: DATES}, body="none"))
async def list_targets(call: TenantDep, active_on: str = "",
                       include_expired: bool = False) -> JSONResponse:
    request = pb.ListTargetsRequest(active_on=active_on, include_expired=include_expired)
    return reply(as_json(await call.registry.ListTargets(request)))


# --- compliance and veto ----------------------------------------------------------------------


@router.post("/units/{unit_id}/compliance", status_code=201,
             response_model=model_of(pb.ComplianceRecord),
             summary="Record a compliance fact on a unit",
             responses=errors(UNIT, COMPLIANCE, {404: ["compliance.unit_unknown"], 422: USCC}))
async def add_compliance(unit_id: str, body: ComplianceIn, call: TenantDep) -> JSONResponse:
    request = pb.AddComplianceRecordRequest(unit_id=unit_id, **body.model_dump())
    return reply(as_json(await call.registry.AddComplianceRecord(request)), 201)


class EndIn(BaseModel):
    ended_on: str
    reason: str = Field("", max_length=1000)


@router.post("/units/{unit_id}/compliance/{record_id}/end",
             response_model=model_of(pb.ComplianceRecord),
             summary="End a state record (off the abnormal list, rectified, production resumed)",
             responses=errors(UNIT, COMPLIANCE, {404: ["compliance.not_found"]}))
async def end_compliance(unit_id: str, record_id: str, body: EndIn,
                         call: TenantDep) -> JSONResponse:
    request = pb.EndComplianceRecordRequest(unit_id=unit_id, record_id=record_id,
                                            **body.model_dump())
    return reply(as_json(await call.registry.EndComplianceRecord(request)))


@router.get("/units/{unit_id}/compliance", summary="A unit's compliance records",
            response_model=model_of(pb.ListComplianceRecordsResponse),
            responses=errors(UNIT, body="none"))
async def list_compliance(unit_id: str, call: TenantDep) -> JSONResponse:
    request = pb.GetUnitRequest(unit_id=unit_id)
    return reply(as_json(await call.registry.ListComplianceRecords(request)))


@router.post("/compliance/import", response_model=ImportResult,
             summary="Bulk import compliance records (信用中国 / 公示系统 extracts); a result per row",
             responses=errors(SEEN, IMPORT, body="form"))
async def import_compliance(call: TenantDep, file: UploadFile = File(...)) -> JSONResponse:
    request = await import_request(file, pb.ImportRequest)
    return reply(as_json(await call.registry.ImportComplianceRecords(request,
                                                                     timeout=IMPORT_TIMEOUT)))


@router.get("/units/{unit_id}/veto", summary="Which veto conditions (SPEC §5) apply on a day",
            response_model=model_of(pb.VetoResult),
            responses=errors(UNIT, {403: ["unit.not_engaged"], 422: DATES}, body="none"))
async def check_veto(unit_id: str, call: TenantDep, on: str = "") -> JSONResponse:
    request = pb.CheckVetoRequest(unit_id=unit_id, on=on)
    return reply(as_json(await call.registry.CheckVeto(request)))


@router.get("/audit/{service}", response_model=model_of(common_pb2.VerifyChainResponse),
            summary="Verify a service's event hash chain in this tenant (institutions: 000000)",
            responses=errors(body="none"))
async def verify_chain(service: Service, call: TenantDep) -> JSONResponse:
    return reply(as_json(await call.audit(service).VerifyChain(common_pb2.VerifyChainRequest())))
