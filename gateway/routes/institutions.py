"""Third-party institution routes (SPEC §9): the registry of institutions and its verification
(ministry, in tenant 000000), filings and supervision (provinces, in their tenant), engagements
(enterprises, in their unit's tenant), work reports, sanctions, and the public directory and
track records. The institutions service holds the rules and keeps everything nationally."""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.deps import PublicDep, TenantDep
from gateway.errors import CheckedRoute
from gateway.routes._common import as_json, errors, reply
from gateway.schemas import model_of
from generated.institutions.v1 import institutions_pb2 as pb
from services.kernel.errors import INT32_MAX, YEARS

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["institutions"],
                   route_class=CheckedRoute)
public = APIRouter(prefix="/api/v1/public", tags=["public"], route_class=CheckedRoute)
Category = Literal["factory", "park", "supply_chain"]
YEAR = Query(0, ge=0, le=YEARS[1], description=f"0: this year; else {YEARS[0]}–{YEARS[1]}")
Institution = model_of(pb.Institution)
Engagement = model_of(pb.Engagement, drop=("unit_json",), add={
    "unit": (dict[str, Any], Field(description="the unit as the registry knew it when engaged"))})


# --- the codes each route answers besides what every route answers (``errors``) ------------------
SEEN = {403: ["auth.not_your_unit", "auth.outside_city", "crossing.undeclared"]}
INSTITUTION = {**SEEN, 404: ["institution.not_found"]}
ENGAGEMENT = {**SEEN, 404: ["engagement.not_found"]}
USCC = ["uscc.length", "uscc.charset", "uscc.region", "uscc.checksum",
        "uscc.override_reason_required"]
RULES = ["institution.rule_staff", "institution.rule_senior", "institution.rule_experience"]
INDEPENDENCE = ["engagement.wrote_self_evaluation", "engagement.party_wrote_self_evaluation",
                "engagement.related_self", "engagement.related_legal_rep",
                "engagement.related_group", "engagement.related_employs"]


def engagement_json(e: pb.Engagement) -> dict[str, Any]:
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
    year: int = Field(ge=YEARS[0], le=YEARS[1])
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
    year: int = Field(ge=YEARS[0], le=YEARS[1], description="the year reported on")
    summary: str = Field(max_length=5000)
    projects: int = Field(ge=0, le=INT32_MAX)
    content: dict = Field(default_factory=dict, description="further figures the form asks for")


class SanctionIn(BaseModel):
    kind: Literal["warning", "not_accepted", "removal"]
    reason: str = Field(max_length=2000)
    decision: str = Field(max_length=200, description="the decision's document number")
    starts_on: str = ""
    ends_on: str = Field("", description="not_accepted: the last day reports are not accepted")


# --- the registry of institutions -----------------------------------------------------------------


@router.put("/institutions/{uscc}", response_model=Institution,
            summary="Enter or update an institution's profile (the institution itself, or the ministry; tenant 000000)",
            responses=errors(SEEN, {409: ["institution.national_only", "institution.removed"],
                             422: [*USCC, "field.required", "institution.scope",
                             "institution.scope_industry", "institution.staff_title",
                             "institution.experience_year", "institution.too_many",
                             "person_id.format", "person_id.birth_date", "person_id.checksum",
                             "text.too_long"]}))
async def register(uscc: str, body: InstitutionIn, call: TenantDep) -> JSONResponse:
    data = body.model_dump()
    request = pb.InstitutionProfile(
        uscc=uscc, **{k: v for k, v in data.items() if k not in ("staff", "experience")},
        staff=[pb.Staff(**s) for s in data["staff"]],
        experience=[pb.Experience(**e) for e in data["experience"]])
    return reply(as_json(await call.institutions.RegisterInstitution(request)))


@router.post("/institutions/{uscc}/verify", response_model=Institution,
             summary="Verify an institution (ministry, tenant 000000)",
             responses=errors(INSTITUTION, {409: ["institution.national_only", "institution.removed",
                              *RULES]}, body="none"))
async def verify(uscc: str, call: TenantDep) -> JSONResponse:
    request = pb.VerifyInstitutionRequest(uscc=uscc)
    return reply(as_json(await call.institutions.VerifyInstitution(request)))


@router.get("/institutions", response_model=list[Institution],  # type: ignore[valid-type]
            summary="Institutions: all (ministry), those filed here (province), or your own",
            responses=errors(SEEN, body="none"))
async def list_institutions(call: TenantDep) -> JSONResponse:
    result = await call.institutions.ListInstitutions(pb.ListInstitutionsRequest())
    return reply([as_json(i) for i in result.institutions])


@router.get("/institutions/{uscc}", summary="One institution", response_model=Institution,
            responses=errors(INSTITUTION, body="none"))
async def get_institution(uscc: str, call: TenantDep) -> JSONResponse:
    request = pb.GetInstitutionRequest(uscc=uscc)
    return reply(as_json(await call.institutions.GetInstitution(request)))


@router.post("/institutions/{uscc}/filing", response_model=model_of(pb.Filing),
             summary="File an institution with this province (备案)",
             responses=errors(INSTITUTION, {409: ["institution.not_verified"],
                              422: ["text.too_long"]}))
async def file(uscc: str, body: ReasonIn, call: TenantDep) -> JSONResponse:
    request = pb.FilingRequest(uscc=uscc, reason=body.reason)
    return reply(as_json(await call.institutions.FileInstitution(request)))


@router.post("/institutions/{uscc}/filing/revoke", response_model=model_of(pb.Filing),
             summary="End an institution's filing here",
             responses=errors(INSTITUTION, {404: ["filing.not_found"], 422: ["field.required",
                              "text.too_long"]}))
async def revoke_filing(uscc: str, body: ReasonIn, call: TenantDep) -> JSONResponse:
    request = pb.FilingRequest(uscc=uscc, reason=body.reason)
    return reply(as_json(await call.institutions.RevokeFiling(request)))


@router.get("/institutions/{uscc}/cap", response_model=model_of(pb.CapUsageView),
            summary="National projects taken this year by the institution's legal representative",
            responses=errors(INSTITUTION, {422: ["number.out_of_range"]}, body="none"))
async def cap_usage(uscc: str, call: TenantDep, year: int = YEAR) -> JSONResponse:
    request = pb.CapUsageRequest(uscc=uscc, year=year)
    return reply(as_json(await call.institutions.CapUsage(request)))


@router.post("/institutions/{uscc}/work-reports", status_code=201,
             response_model=model_of(pb.WorkReport),
             summary="Submit the annual work report (the institution, tenant 000000)",
             responses=errors(INSTITUTION, {409: ["institution.national_only", "work_report.closed"],
                              422: ["work_report.year", "work_report.projects",
                              "work_report.content_json", "number.out_of_range", "text.too_long"]}))
async def submit_work_report(uscc: str, body: WorkReportIn, call: TenantDep) -> JSONResponse:
    request = pb.WorkReportRequest(
        uscc=uscc, year=body.year, summary=body.summary, projects=body.projects,
        content_json=json.dumps(body.content, ensure_ascii=False))
    return reply(as_json(await call.institutions.SubmitWorkReport(request)), 201)


@router.get("/work-reports", summary="Work reports, and who is overdue for a year",
            response_model=model_of(pb.ListWorkReportsResponse),
            responses=errors(SEEN, {422: ["number.out_of_range"]}, body="none"))
async def list_work_reports(call: TenantDep, uscc: str = "", year: int = YEAR) -> JSONResponse:
    request = pb.ListWorkReportsRequest(uscc=uscc, year=year)
    return reply(as_json(await call.institutions.ListWorkReports(request)))


@router.post("/institutions/{uscc}/sanctions", status_code=201,
             response_model=model_of(pb.SanctionView),
             summary="Sanction an institution: warning, reports not accepted for a period, removal",
             responses=errors(INSTITUTION, {403: ["sanction.not_yours"], 422: ["sanction.kind",
                              "sanction.period", "date.malformed", "date.out_of_range",
                              "field.required", "text.too_long"]}))
async def sanction(uscc: str, body: SanctionIn, call: TenantDep) -> JSONResponse:
    request = pb.SanctionRequest(uscc=uscc, **body.model_dump())
    return reply(as_json(await call.institutions.Sanction(request)), 201)


# --- engagements ----------------------------------------------------------------------------------


@router.post("/engagements", status_code=201, response_model=Engagement,
             summary="Engage an institution to evaluate a unit (its enterprise, in the unit's tenant)",
             responses=errors(INSTITUTION, {404: ["unit.not_found"],
                              409: ["institution.not_verified", "engagement.not_filed",
                              "engagement.sanctioned", "engagement.out_of_scope",
                              "engagement.out_of_industry", "engagement.ownership_undeclared",
                              "engagement.already_active", "engagement.cap_reached", *INDEPENDENCE],
                              422: [*USCC, "engagement.level", "field.required", "text.too_long"]}))
async def engage(body: EngageIn, call: TenantDep) -> JSONResponse:
    request = pb.EngageRequest(**body.model_dump())
    request.request_id = request.request_id or str(uuid.uuid4())
    return reply(engagement_json(await call.institutions.Engage(request)), 201)


@router.get("/engagements", summary="Engagements the caller may see",
            response_model=list[Engagement],  # type: ignore[valid-type]
            responses=errors(SEEN, {422: ["number.out_of_range"]}, body="none"))
async def list_engagements(call: TenantDep, institution_uscc: str = "", unit_id: str = "",
                           year: int = YEAR) -> JSONResponse:
    result = await call.institutions.ListEngagements(pb.ListEngagementsRequest(
        institution_uscc=institution_uscc, unit_id=unit_id, year=year))
    return reply([engagement_json(e) for e in result.engagements])


@router.get("/engagements/{engagement_id}", summary="One engagement", response_model=Engagement,
            responses=errors(ENGAGEMENT, body="none"))
async def get_engagement(engagement_id: str, call: TenantDep) -> JSONResponse:
    request = pb.GetEngagementRequest(engagement_id=engagement_id)
    return reply(engagement_json(await call.institutions.GetEngagement(request)))


@router.post("/engagements/{engagement_id}/cancel", response_model=Engagement,
             summary="Cancel an engagement before its evaluation is scored (releases its place under the cap)",
             responses=errors(ENGAGEMENT, {409: ["engagement.not_cancellable"],
                              422: ["field.required", "text.too_long"]}))
async def cancel(engagement_id: str, body: ReasonIn, call: TenantDep) -> JSONResponse:
    request = pb.CancelEngagementRequest(engagement_id=engagement_id, reason=body.reason)
    return reply(engagement_json(await call.institutions.CancelEngagement(request)))


# --- public ---------------------------------------------------------------------------------------


@public.get("/institutions", summary="Directory of verified third-party evaluation institutions",
            response_model=list[model_of(pb.DirectoryEntry)],  # type: ignore[misc]
            responses=errors(caller="public", body="none"))
async def directory(call: PublicDep, province: str = "", category: str = "") -> JSONResponse:
    request = pb.DirectoryRequest(province=province, category=category)
    result = await call.institutions.Directory(request)
    return reply([as_json(e) for e in result.institutions])


@public.get("/institutions/{uscc}/track-record", summary="An institution's public track record",
            response_model=model_of(pb.TrackRecordView),
            responses=errors({404: ["institution.not_found"]}, caller="public", body="none",
                             in_path=True))
async def track_record(uscc: str, call: PublicDep) -> JSONResponse:
    request = pb.GetInstitutionRequest(uscc=uscc)
    return reply(as_json(await call.institutions.TrackRecord(request)))
