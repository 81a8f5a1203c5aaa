"""Open to everyone: health, reference data, the platform's public keys, and the check of an
evaluation report's signature (the report keys and the verification are the evaluation
service's: asked for the anonymous public, like the institutions directory)."""

from __future__ import annotations

import asyncio

import grpc
from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import Field

from gateway.deps import PublicDep
from gateway.errors import CheckedRoute
from gateway.limits import MULTIPART_FRAMING, RouteLimit
from gateway.routes._common import as_json, errors, reply
from gateway.schemas import Strict, model_of
from generated.evaluation.v1 import evaluation_pb2 as pb
from services.kernel.limits import limits
from services.kernel.tenancy import cities_of, get_tenant, tenants
from services.kernel.veto import veto_table

router = APIRouter(tags=["public"], route_class=CheckedRoute)


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
    """Alive: the process answers (a supervisor restarts it when this fails)."""
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    """Ready: every service the gateway calls answers its gRPC health check as SERVING (a
    balancer sends traffic only then). 503 names the ones that do not."""
    state = request.app.state
    names = [n for n in ("registry", "evaluation", "institutions") if hasattr(state, n)]
    checks = await asyncio.gather(*(_serving(getattr(state, n).channel) for n in names))
    services = dict(zip(names, checks))
    ready = bool(services) and all(services.values())
    return JSONResponse({"status": "ready" if ready else "not ready",
                         "services": {n: "serving" if ok else "unavailable"
                                      for n, ok in services.items()}},
                        status_code=200 if ready else 503)


async def _serving(channel: grpc.aio.Channel) -> bool:
    try:
        answer = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=2)
    except grpc.RpcError:
        return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


@router.get("/api/v1/public/tenants", summary="The 38 tenants (省级主管部门 and the ministry)",
            response_model=list[TenantOut],
            responses=errors(caller="open", body="none"))
async def list_tenants() -> JSONResponse:
    return reply([{"id": t.id, "name_zh": t.name_zh, "name_en": t.name_en, "kind": t.kind}
                  for t in tenants()])


@router.get("/api/v1/public/tenants/{tenant}/cities", response_model=list[CityOut],
            summary="Prefecture-level divisions of a tenant",
            responses=errors({404: ["tenant.unknown"]}, caller="open", body="none",
                             in_path=True))
async def tenant_cities(tenant: str) -> JSONResponse:
    get_tenant(tenant)
    return reply([{"code": d.code, "name_zh": d.name_zh, "level": d.level}
                  for d in cities_of(tenant)])


@router.get("/api/v1/public/compliance-kinds", response_model=list[ComplianceKindOut],
            summary="The kinds of compliance record and the veto condition each feeds (否决条件)",
            responses=errors(caller="open", body="none"))
async def compliance_kinds() -> JSONResponse:
    table = veto_table()
    return reply([{"kind": kind, "name_zh": rule.zh, "name_en": rule.en,
                   "condition": rule.condition, "condition_zh": table.conditions[rule.condition]["zh"],
                   "condition_en": table.conditions[rule.condition]["en"], "mode": rule.mode,
                   "min_months": rule.min_months} for kind, rule in table.kinds.items()])


@router.get("/api/v1/public/keys", response_model=PublicKeys,
            summary="Public keys of the gateway's signing keys (Ed25519, PEM)",
            responses=errors(caller="open", body="none"))
async def public_keys(request: Request) -> JSONResponse:
    ring = request.app.state.auth.ring
    return reply({"issuer": ring.issuer, "active": ring.active_kid, "keys": ring.public_pems()})


@router.get("/api/v1/public/report-keys", response_model=model_of(pb.ReportKeys),
            summary="Public keys evaluation reports are signed with (Ed25519, PEM)",
            description="Save this JSON: with it, `python tools/verify_report.py REPORT KEYS` "
                        "checks a report (its PDF or its JSON) offline. `active` signs new "
                        "reports; every key listed still verifies the reports it signed.",
                        responses=errors(caller="public", body="none"))
async def report_keys(call: PublicDep) -> JSONResponse:
    return reply(as_json(await call.evaluation.ListReportKeys(pb.ListReportKeysRequest())))


VERIFY = "/api/v1/public/reports/verify"
REPORT_MAX_BYTES = limits().report_verify_max_bytes
# Anyone may verify a report: its body limit is the platform's report figure (the one the
# evaluation service refuses a file over) plus the multipart framing, far below the general limit.
BODY_LIMITS = (RouteLimit("POST", VERIFY, figure=REPORT_MAX_BYTES, framing=MULTIPART_FRAMING,
                          code="request.report_too_large"),)


@router.post(VERIFY, response_model=model_of(pb.ReportVerification),
             summary="Check an evaluation report (its PDF or JSON): signature and pages",
             description=(
                 "Upload the report as `file` (multipart; the PDF as downloaded, which carries "
                 "the signed JSON report, or the JSON itself), at most "
                 f"{REPORT_MAX_BYTES} bytes ({REPORT_MAX_BYTES / 2**20:g} MiB). `valid` is true "
                 "for a report the platform signed and nobody changed since — for a PDF, also "
                 "only when its pages are byte for byte the platform's rendering of the signed "
                 "report (`pages_checked`). Otherwise `reason` says why, as a message code: "
                 "`report.not_a_report`, `report.hash_mismatch`, `report.unsigned` (a format-1 "
                 "report, from before signing), `report.unknown_key`, `report.bad_signature`, "
                 "`report.pdf_altered` (the attached report is genuine, the pages are not). "
                 "`facts` holds what the signature certifies — unit and USCC, scheme and "
                 "version, level, total, pass mark, conclusion, provisional mark, submission "
                 "time — whenever the signature holds; only these facts are certified. "
                 "`notice_zh`/`notice_en` say in words what was and was not verified."),
                 responses=errors({413: ["report.too_large"]}, caller="public", body="form",
                                  too_large="request.report_too_large"))
async def verify_report(call: PublicDep, file: UploadFile = File(...)) -> JSONResponse:
    request = pb.VerifyReportRequest(content=await file.read())
    return reply(as_json(await call.evaluation.VerifyReport(request)))
