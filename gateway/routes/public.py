"""Open to everyone: health, reference data, the platform's public keys, and the check of an
evaluation report's signature (the report keys and the verification are the evaluation
service's: asked for the anonymous public, like the institutions directory)."""

from __future__ import annotations

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import Field

from gateway.deps import PublicDep
from gateway.routes._common import ERRORS, as_json, reply
from gateway.schemas import Strict, model_of
from generated.evaluation.v1 import evaluation_pb2 as pb
from services.kernel.tenancy import cities_of, get_tenant, tenants
from services.kernel.veto import veto_table

router = APIRouter(tags=["public"], responses=ERRORS)


class TenantOut(Strict):
    id: str = Field(description="GB/T 2260 code; 000000 is the ministry")
    name_zh: str
    name_en: str
    kind: str


class CityOut(Strict):
    code: str
    name_zh: str
    level: str


class ComplianceKindOut(Strict):
    kind: str = Field(description="the code a compliance record is recorded under")
    name_zh: str
    name_en: str
    condition: int = Field(description="the veto condition (SPEC §5, 1–6) it feeds")
    condition_zh: str
    condition_en: str
    mode: str = Field(description="event: occurred inside the window; state: in force on the "
                                  "day; stoppage: a production stop of min_months or more")
    min_months: int


class PublicKeys(Strict):
    issuer: str
    active: str = Field(description="the key id tokens are signed with now")
    keys: dict[str, str] = Field(description="key id → public key (PEM)")


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/api/v1/public/tenants", summary="The 38 tenants (省级主管部门 and the ministry)",
            response_model=list[TenantOut])
async def list_tenants() -> JSONResponse:
    return reply([{"id": t.id, "name_zh": t.name_zh, "name_en": t.name_en, "kind": t.kind}
                  for t in tenants()])


@router.get("/api/v1/public/tenants/{tenant}/cities", response_model=list[CityOut],
            summary="Prefecture-level divisions of a tenant")
async def tenant_cities(tenant: str) -> JSONResponse:
    get_tenant(tenant)
    return reply([{"code": d.code, "name_zh": d.name_zh, "level": d.level}
                  for d in cities_of(tenant)])


@router.get("/api/v1/public/compliance-kinds", response_model=list[ComplianceKindOut],
            summary="The kinds of compliance record and the veto condition each feeds (否决条件)")
async def compliance_kinds() -> JSONResponse:
    table = veto_table()
    return reply([{"kind": kind, "name_zh": rule.zh, "name_en": rule.en,
                   "condition": rule.condition, "condition_zh": table.conditions[rule.condition]["zh"],
                   "condition_en": table.conditions[rule.condition]["en"], "mode": rule.mode,
                   "min_months": rule.min_months} for kind, rule in table.kinds.items()])


@router.get("/api/v1/public/keys", response_model=PublicKeys,
            summary="Public keys of the gateway's signing keys (Ed25519, PEM)")
async def public_keys(request: Request) -> JSONResponse:
    ring = request.app.state.auth.ring
    return reply({"issuer": ring.issuer, "active": ring.active_kid, "keys": ring.public_pems()})


@router.get("/api/v1/public/report-keys", response_model=model_of(pb.ReportKeys),
            summary="Public keys evaluation reports are signed with (Ed25519, PEM)",
            description="Save this JSON: with it, `python tools/verify_report.py REPORT KEYS` "
                        "checks a report (its PDF or its JSON) offline. `active` signs new "
                        "reports; every key listed still verifies the reports it signed.")
async def report_keys(call: PublicDep) -> JSONResponse:
    return reply(as_json(await call.evaluation.ListReportKeys(pb.ListReportKeysRequest())))


@router.post("/api/v1/public/reports/verify", response_model=model_of(pb.ReportVerification),
             summary="Check an evaluation report (its PDF or JSON) against the report keys",
             description="Upload the report as `file` (multipart; the PDF as downloaded, which "
                         "carries the signed JSON report, or the JSON itself), within the "
                         "general request limit. `valid` is true for a report the platform "
                         "signed and nobody changed since; otherwise `reason` says why, as a "
                         "message code: `report.not_a_report`, `report.hash_mismatch`, "
                         "`report.unsigned`, `report.unknown_key`, `report.bad_signature`.")
async def verify_report(call: PublicDep, file: UploadFile = File(...)) -> JSONResponse:
    request = pb.VerifyReportRequest(content=await file.read())
    return reply(as_json(await call.evaluation.VerifyReport(request)))
