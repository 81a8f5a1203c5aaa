"""Registry routes (SPEC §3, §5) under ``/api/v1/tenants/{tenant}/``: thin — validate the shape,
call the registry with the caller's identity, return its answer as JSON. The registry enforces
the rules and the jurisdictions again."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, File, Query, Response, UploadFile
from google.protobuf.json_format import MessageToDict
from pydantic import BaseModel, Field

from gateway.deps import TenantDep
from greenladder.common.v1 import common_pb2
from greenladder.common.v1.common_pb2_grpc import AuditStub
from greenladder.registry.v1 import registry_pb2 as pb
from greenladder.registry.v1.registry_pb2_grpc import RegistryStub
from services.kernel.errors import invalid

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["registry"])
Kind = Literal["factory", "park", "supply_chain"]


def as_json(msg) -> dict:  # type: ignore[no-untyped-def]
    return MessageToDict(msg, preserving_proto_field_name=True,
                         always_print_fields_with_no_presence=True)


# A bulk file of 20,000 rows takes the registry about half a minute; the answer must not be lost.
IMPORT_TIMEOUT = 600.0


async def rpc(call: TenantDep, name: str, request, timeout: float | None = None):  # type: ignore[no-untyped-def]
    client = call.clients.registry
    return await call(client, getattr(client.stub(RegistryStub), name), request, timeout)


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
             responses={201: {"description": "registered"}, 200: {"description": "already there"}})
async def register_unit(body: UnitIn, call: TenantDep, response: Response) -> dict:
    req = pb.RegisterUnitRequest(**body.model_dump(exclude={"industrial_value_added_share"}))
    if body.industrial_value_added_share is not None:
        req.industrial_value_added_share = body.industrial_value_added_share
    result = await rpc(call, "RegisterUnit", req)
    response.status_code = 201 if result.created else 200
    return {"created": result.created, "unit": as_json(result.unit)}


@router.get("/units", summary="Find units (by USCC, kind, city, name)")
async def find_units(
    call: TenantDep,
    uscc: str = Query("", max_length=40),
    kind: Kind | None = None,
    city: str = Query("", pattern=r"^(\d{4}|\d{6})?$"),
    q: str = Query("", max_length=100, description="name contains"),
    page_size: int = Query(50, ge=1, le=200),
    page_token: str = "",
) -> dict:
    result = await rpc(call, "FindUnits", pb.FindUnitsRequest(
        uscc=uscc, kind=kind or "", city=city, name_contains=q, page_size=page_size,
        page_token=page_token))
    return as_json(result)


@router.post("/units/import", summary="Bulk import units from CSV or XLSX; a result per row")
async def import_units(call: TenantDep, file: UploadFile = File(...)) -> dict:
    return as_json(await rpc(call, "ImportUnits", await _import_request(file), IMPORT_TIMEOUT))


@router.get("/units/{unit_id}", summary="One unit")
async def get_unit(unit_id: str, call: TenantDep) -> dict:
    return as_json(await rpc(call, "GetUnit", pb.GetUnitRequest(unit_id=unit_id)))


@router.get("/units/{unit_id}/history", summary="Renames, relocations and mergers of a unit")
async def unit_history(unit_id: str, call: TenantDep) -> dict:
    return as_json(await rpc(call, "UnitHistory", pb.GetUnitRequest(unit_id=unit_id)))


@router.post("/units/{unit_id}/rename", summary="Record a name change (history kept)")
async def rename_unit(unit_id: str, body: RenameIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "RenameUnit", pb.RenameUnitRequest(unit_id=unit_id, **body.model_dump())))


@router.post("/units/{unit_id}/relocate", summary="Record a relocation inside the tenant")
async def relocate_unit(unit_id: str, body: RelocateIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "RelocateUnit", pb.RelocateUnitRequest(unit_id=unit_id, **body.model_dump())))


@router.put("/units/{unit_id}/ownership",
            summary="Declare the unit's parent company and legal representative (related parties)")
async def set_ownership(unit_id: str, body: OwnershipIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "SetOwnership", pb.SetOwnershipRequest(unit_id=unit_id,
                                                                          **body.model_dump())))


@router.post("/units/{unit_id}/merge", summary="Merge this unit into another (it keeps its id)")
async def merge_units(unit_id: str, body: MergeIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "MergeUnits", pb.MergeUnitsRequest(absorbed_id=unit_id, **body.model_dump())))


@router.put("/units/{unit_id}/members", summary="A park's member units (the whole list)")
async def set_members(unit_id: str, body: MembersIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "SetParkMembers",
                             pb.SetParkMembersRequest(park_id=unit_id, member_ids=body.member_ids)))


@router.get("/units/{unit_id}/members", summary="A park's member units")
async def get_members(unit_id: str, call: TenantDep) -> dict:
    return as_json(await rpc(call, "GetParkMembers", pb.GetUnitRequest(unit_id=unit_id)))


@router.put("/units/{unit_id}/suppliers", summary="A supply-chain enterprise's suppliers (any province)")
async def set_suppliers(unit_id: str, body: SuppliersIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "SetSuppliers", pb.SetSuppliersRequest(
        unit_id=unit_id, suppliers=[pb.Supplier(**s.model_dump()) for s in body.suppliers])))


@router.get("/units/{unit_id}/suppliers", summary="A supply-chain enterprise's suppliers")
async def get_suppliers(unit_id: str, call: TenantDep) -> dict:
    return as_json(await rpc(call, "GetSuppliers", pb.GetUnitRequest(unit_id=unit_id)))


@router.post("/units/{unit_id}/plans", summary="Publish the park's or supply chain's cultivation plan for a year")
async def publish_plan(unit_id: str, body: PlanIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "PublishPlan", pb.PublishPlanRequest(
        owner_id=unit_id, year=body.year, title=body.title,
        entries=[pb.PlanEntry(uscc=e.uscc, name=e.name, tenant=e.tenant) for e in body.entries])))


@router.get("/units/{unit_id}/plans", summary="A unit's cultivation plans with progress")
async def list_plans(unit_id: str, call: TenantDep) -> dict:
    return as_json(await rpc(call, "ListPlans", pb.GetUnitRequest(unit_id=unit_id)))


@router.get("/plans/{plan_id}", summary="One cultivation plan with progress")
async def get_plan(plan_id: str, call: TenantDep) -> dict:
    return as_json(await rpc(call, "GetPlan", pb.GetPlanRequest(plan_id=plan_id)))


# --- targets ----------------------------------------------------------------------------------


@router.post("/targets", status_code=201, summary="Designate a cultivation target (培育对象; province)")
async def designate_target(body: TargetIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "DesignateTarget", pb.DesignateTargetRequest(**body.model_dump())))


@router.get("/targets", summary="Cultivation targets valid on a day")
async def list_targets(call: TenantDep, active_on: str = "", include_expired: bool = False) -> dict:
    return as_json(await rpc(call, "ListTargets", pb.ListTargetsRequest(
        active_on=active_on, include_expired=include_expired)))


# --- compliance and veto ----------------------------------------------------------------------


@router.post("/units/{unit_id}/compliance", status_code=201, summary="Record a compliance fact on a unit")
async def add_compliance(unit_id: str, body: ComplianceIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "AddComplianceRecord",
                             pb.AddComplianceRecordRequest(unit_id=unit_id, **body.model_dump())))


class EndIn(BaseModel):
    ended_on: str
    reason: str = Field("", max_length=1000)


@router.post("/units/{unit_id}/compliance/{record_id}/end",
             summary="End a state record (off the abnormal list, rectified, production resumed)")
async def end_compliance(unit_id: str, record_id: str, body: EndIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "EndComplianceRecord", pb.EndComplianceRecordRequest(
        unit_id=unit_id, record_id=record_id, **body.model_dump())))


@router.get("/units/{unit_id}/compliance", summary="A unit's compliance records")
async def list_compliance(unit_id: str, call: TenantDep) -> dict:
    return as_json(await rpc(call, "ListComplianceRecords", pb.GetUnitRequest(unit_id=unit_id)))


@router.post("/compliance/import",
             summary="Bulk import compliance records (信用中国 / 公示系统 extracts); a result per row")
async def import_compliance(call: TenantDep, file: UploadFile = File(...)) -> dict:
    return as_json(await rpc(call, "ImportComplianceRecords", await _import_request(file),
                             IMPORT_TIMEOUT))


@router.get("/units/{unit_id}/veto", summary="Which veto conditions (SPEC §5) apply on a day")
async def check_veto(unit_id: str, call: TenantDep, on: str = "") -> dict:
    return as_json(await rpc(call, "CheckVeto", pb.CheckVetoRequest(unit_id=unit_id, on=on)))


@router.get("/audit/{service}",
            summary="Verify a service's event hash chain in this tenant (institutions: 000000)")
async def verify_chain(service: Literal["registry", "evaluation", "institutions"],
                       call: TenantDep) -> dict:
    client = getattr(call.clients, service)
    return as_json(await call(client, client.stub(AuditStub).VerifyChain,
                              common_pb2.VerifyChainRequest()))


async def _import_request(file: UploadFile) -> pb.ImportRequest:
    name = (file.filename or "").lower()
    fmt = "xlsx" if name.endswith(".xlsx") else "csv" if name.endswith(".csv") else ""
    if not fmt:
        raise invalid("request.file_format", filename=file.filename or "")
    return pb.ImportRequest(content=await file.read(), format=fmt, filename=file.filename or "")
