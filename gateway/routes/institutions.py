"""Third-party institution routes (SPEC §9): the registry of institutions and its verification
(ministry, in tenant 000000), filings and supervision (provinces, in their tenant), engagements
(enterprises, in their unit's tenant), work reports, sanctions, and the public directory and
track records. The institutions service holds the rules and keeps everything nationally."""

from __future__ import annotations

import json
import uuid
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gateway.deps import PublicDep, TenantCall, TenantDep
from gateway.routes.registry import as_json
from greenladder.institutions.v1 import institutions_pb2 as pb
from greenladder.institutions.v1.institutions_pb2_grpc import InstitutionsStub

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["institutions"])
public = APIRouter(prefix="/api/v1/public", tags=["public"])
Category = Literal["factory", "park", "supply_chain"]


async def rpc(call: TenantCall, name: str, request):  # type: ignore[no-untyped-def]
    client = call.clients.institutions
    return await call(client, getattr(client.stub(InstitutionsStub), name), request)


def engagement_json(e: pb.Engagement) -> dict:
    out = as_json(e)
    out["unit"] = json.loads(out.pop("unit_json") or "{}")
    return out


# --- bodies ---------------------------------------------------------------------------------------


class StaffIn(BaseModel):
    name: str = Field(max_length=100)
    title: Literal["junior", "intermediate", "senior"] = Field(description="职称 初级/中级/高级")
    full_time: bool
    field: str = Field("", max_length=100)
    also_employed_by: list[str] = Field(default_factory=list, max_length=20,
                                        description="USCCs of other employers (independence)")


class ExperienceIn(BaseModel):
    year: int
    description: str = Field(max_length=500)


class InstitutionIn(BaseModel):
    name: str = Field(max_length=200)
    legal_representative: str = Field(max_length=100)
    legal_rep_id: str = Field("", max_length=40,
                              description="居民身份证号码; required the first time; kept only as a key")
    address: str = Field("", max_length=300)
    parent_uscc: str = Field("", max_length=40, description="parent company or controlling shareholder")
    qualifications: list[str] = Field(default_factory=list, max_length=100)
    staff: list[StaffIn] = Field(default_factory=list, max_length=1000)
    experience: list[ExperienceIn] = Field(default_factory=list, max_length=500)
    scope_categories: list[Category] = Field(min_length=1, max_length=3)
    scope_industries: list[str] = Field(default_factory=list, max_length=40,
                                        description="GB/T 4754 divisions, e.g. 26; empty: all")
    contact: str = Field("", max_length=200)


class ReasonIn(BaseModel):
    reason: str = Field("", max_length=500)


class EngageIn(BaseModel):
    unit_id: str
    institution_uscc: str = Field(max_length=40)
    level: Literal["national", "provincial", "municipal"] = Field(
        "national", description="national-level projects count toward the cap of 15")
    request_id: str = Field("", max_length=80, description="idempotency key; one is made when empty")


class WorkReportIn(BaseModel):
    year: int
    summary: str = Field(max_length=5000)
    projects: int = Field(ge=0)
    content: dict = Field(default_factory=dict, description="further figures the form asks for")


class SanctionIn(BaseModel):
    kind: Literal["warning", "not_accepted", "removal"]
    reason: str = Field(max_length=2000)
    decision: str = Field(max_length=200, description="the decision's document number")
    starts_on: str = ""
    ends_on: str = Field("", description="not_accepted: the last day reports are not accepted")


# --- the registry of institutions -----------------------------------------------------------------


@router.put("/institutions/{uscc}",
            summary="Enter or update an institution's profile (the institution itself, or the ministry; tenant 000000)")
async def register(uscc: str, body: InstitutionIn, call: TenantDep) -> dict:
    data = body.model_dump()
    request = pb.InstitutionProfile(
        uscc=uscc, **{k: v for k, v in data.items() if k not in ("staff", "experience")},
        staff=[pb.Staff(**s) for s in data["staff"]],
        experience=[pb.Experience(**e) for e in data["experience"]])
    return as_json(await rpc(call, "RegisterInstitution", request))


@router.post("/institutions/{uscc}/verify", summary="Verify an institution (ministry, tenant 000000)")
async def verify(uscc: str, call: TenantDep) -> dict:
    return as_json(await rpc(call, "VerifyInstitution", pb.VerifyInstitutionRequest(uscc=uscc)))


@router.get("/institutions", summary="Institutions: all (ministry), those filed here (province), or your own")
async def list_institutions(call: TenantDep) -> list[dict]:
    result = await rpc(call, "ListInstitutions", pb.ListInstitutionsRequest())
    return [as_json(i) for i in result.institutions]


@router.get("/institutions/{uscc}", summary="One institution")
async def get_institution(uscc: str, call: TenantDep) -> dict:
    return as_json(await rpc(call, "GetInstitution", pb.GetInstitutionRequest(uscc=uscc)))


@router.post("/institutions/{uscc}/filing", summary="File an institution with this province (备案)")
async def file(uscc: str, body: ReasonIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "FileInstitution", pb.FilingRequest(uscc=uscc, reason=body.reason)))


@router.post("/institutions/{uscc}/filing/revoke", summary="End an institution's filing here")
async def revoke_filing(uscc: str, body: ReasonIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "RevokeFiling", pb.FilingRequest(uscc=uscc, reason=body.reason)))


@router.get("/institutions/{uscc}/cap",
            summary="National projects taken this year by the institution's legal representative")
async def cap_usage(uscc: str, call: TenantDep, year: int = 0) -> dict:
    return as_json(await rpc(call, "CapUsage", pb.CapUsageRequest(uscc=uscc, year=year)))


@router.post("/institutions/{uscc}/work-reports", status_code=201,
             summary="Submit the annual work report (the institution, tenant 000000)")
async def submit_work_report(uscc: str, body: WorkReportIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "SubmitWorkReport", pb.WorkReportRequest(
        uscc=uscc, year=body.year, summary=body.summary, projects=body.projects,
        content_json=json.dumps(body.content, ensure_ascii=False))))


@router.get("/work-reports", summary="Work reports, and who is overdue for a year")
async def list_work_reports(call: TenantDep, uscc: str = "", year: int = 0) -> dict:
    return as_json(await rpc(call, "ListWorkReports", pb.ListWorkReportsRequest(uscc=uscc, year=year)))


@router.post("/institutions/{uscc}/sanctions", status_code=201,
             summary="Sanction an institution: warning, reports not accepted for a period, removal")
async def sanction(uscc: str, body: SanctionIn, call: TenantDep) -> dict:
    return as_json(await rpc(call, "Sanction", pb.SanctionRequest(uscc=uscc, **body.model_dump())))


# --- engagements ----------------------------------------------------------------------------------


@router.post("/engagements", status_code=201,
             summary="Engage an institution to evaluate a unit (its enterprise, in the unit's tenant)")
async def engage(body: EngageIn, call: TenantDep) -> dict:
    request = pb.EngageRequest(**body.model_dump())
    request.request_id = request.request_id or str(uuid.uuid4())
    return engagement_json(await rpc(call, "Engage", request))


@router.get("/engagements", summary="Engagements the caller may see")
async def list_engagements(call: TenantDep, institution_uscc: str = "", unit_id: str = "",
                           year: int = 0) -> list[dict]:
    result = await rpc(call, "ListEngagements", pb.ListEngagementsRequest(
        institution_uscc=institution_uscc, unit_id=unit_id, year=year))
    return [engagement_json(e) for e in result.engagements]


@router.get("/engagements/{engagement_id}", summary="One engagement")
async def get_engagement(engagement_id: str, call: TenantDep) -> dict:
    return engagement_json(await rpc(call, "GetEngagement",
                                     pb.GetEngagementRequest(engagement_id=engagement_id)))


@router.post("/engagements/{engagement_id}/cancel",
             summary="Cancel an engagement before its evaluation is scored (releases its place under the cap)")
async def cancel(engagement_id: str, body: ReasonIn, call: TenantDep) -> dict:
    return engagement_json(await rpc(call, "CancelEngagement", pb.CancelEngagementRequest(
        engagement_id=engagement_id, reason=body.reason)))


# --- public ---------------------------------------------------------------------------------------


@public.get("/institutions", summary="Directory of verified third-party evaluation institutions")
async def directory(call: PublicDep, province: str = "", category: str = "") -> list[dict]:
    result = await rpc(call, "Directory", pb.DirectoryRequest(province=province, category=category))
    return [as_json(e) for e in result.institutions]


@public.get("/institutions/{uscc}/track-record", summary="An institution's public track record")
async def track_record(uscc: str, call: PublicDep) -> dict:
    return as_json(await rpc(call, "TrackRecord", pb.GetInstitutionRequest(uscc=uscc)))
