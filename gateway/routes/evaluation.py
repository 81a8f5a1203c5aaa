"""Evaluation routes (SPEC §4) under ``/api/v1/tenants/{tenant}/``: schemes, self-evaluations,
values, evidence, scoring and reports. The evaluation service holds the rules."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, StringConstraints

from gateway.deps import TenantDep
from gateway.errors import CheckedRoute
from gateway.limits import MULTIPART_FRAMING, RouteLimit
from gateway.routes._common import as_json, errors, reply, streamed
from gateway.routes._rescoring import RescoreTally
from gateway.schemas import model_of
from generated.evaluation.v1 import evaluation_pb2 as pb
from services.kernel.errors import MAX_VERSION
from services.kernel.limits import limits

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["evaluation"],
                   route_class=CheckedRoute)
_JSON_FIELDS = ("values_json", "basic_json", "result_json")

Evaluation = model_of(pb.EvaluationView, name="Evaluation", drop=_JSON_FIELDS, add={
    "values": (Any, Field(description="indicator values as entered")),
    "basic": (Any, Field(description="basic requirement id → met")),
    "result": (Any, Field(description="the score, every point explained; null before scoring")),
})
Scheme = model_of(pb.SchemeSummary, name="Scheme", add={"definition": Any})


# --- the codes each route answers besides what every route answers (``errors``) ------------------
# An evaluation is seen by whoever may see its unit; an institution writes only its own (under its
# engagement, which the institutions service is asked about), the registry answers for the unit
# and its veto check: their refusals pass through.
SEEN = {403: ["auth.not_your_unit", "auth.outside_city", "evaluation.institution_writes"]}
EVALUATION = {**SEEN, 404: ["evaluation.not_found"]}
ENGAGEMENT = {404: ["engagement.not_found", "institution.not_found"],
              409: ["engagement.not_active"]}
WRITABLE = {409: ["evaluation.frozen"]}
VETO = {403: ["unit.not_engaged"], 404: ["unit.not_found"]}
VALUES = {422: ["value.unknown_indicator", "value.unknown_requirement", "value.unknown_option",
                "value.not_a_number", "value.too_large", "value.unit_mismatch",
                "value.expects_quantity", "value.expects_option", "value.expects_yes_no",
                "value.expects_yearly", "value.expects_products", "value.years",
                "value.basis_missing", "value.basis_negative", "value.basis_not_used",
                "value.basis_out_of_tiers", "value.per_product_not_allowed",
                "value.products_count", "value.products_duplicate", "value.product_grades",
                "value.product_text", "value.product_weight", "scoring.level_unknown"]}


def evaluation_json(view: pb.EvaluationView) -> dict[str, Any]:
    """The view with its JSON fields as JSON, not strings inside JSON."""
    out = as_json(view)
    for key in _JSON_FIELDS:
        out[key.removesuffix("_json")] = json.loads(out.pop(key) or "null")
    return out


class EvaluationIn(BaseModel):
    unit_id: str = Field("", description="a self-evaluation: the unit (its enterprise creates it)")
    engagement_id: str = Field("", description="an institution's evaluation: its accepted engagement")
    scheme_id: str
    scheme_version: int = Field(0, ge=0, le=MAX_VERSION, description="0: the latest version")
    request_id: str = Field("", max_length=80,
                            description="idempotency key; one is made when empty")
    assisted_by: str = Field("", max_length=40,
                             description="USCC of an institution that helped prepare it")
    level: str = Field("", max_length=20,
                       description="the level applied for: municipal | provincial | national "
                                   "(sets the pass mark); an institution's evaluation takes its "
                                   "engagement's; empty: not said")


# a decimal number as text (no exponent): "12", "-0.5", ".25"
DECIMAL = r"^[+-]?(\d+\.?\d*|\.\d+)$"
OPTIONAL_DECIMAL = r"^([+-]?(\d+\.?\d*|\.\d+))?$"
Number = Annotated[str, StringConstraints(pattern=DECIMAL, max_length=40)]


# a product's name, unit and standard: printable text on one line (no control characters)
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


class ProductIn(BaseModel):
    """One product of a per-product indicator, against the mandatory standard that applies."""

    name: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)
    amount: str = Field(pattern=DECIMAL, max_length=40)
    unit: str = Field(min_length=1, max_length=32, pattern=PRINTABLE,
                      description="the unit of the product's standard (e.g. kgce/t); products "
                                  "under different standards may differ")
    standard: str = Field(min_length=1, max_length=100, pattern=PRINTABLE,
                          description="e.g. GB 21256-2013")
    grade1: str = Field(pattern=DECIMAL, max_length=40, description="1级: the leading value")
    grade2: str = Field(pattern=DECIMAL, max_length=40, description="2级: the baseline")
    weight: str = Field(pattern=DECIMAL, max_length=40,
                        description="the product's energy (or water) use: its weight")


class ValueIn(BaseModel):
    indicator_id: str = Field(max_length=64)
    amount: str = Field("", pattern=OPTIONAL_DECIMAL, max_length=40,
                        description="quantitative: a decimal number as text")
    unit: str = Field("", max_length=32)
    option: str = Field("", max_length=64, description="qualitative: a rubric option id")
    met: bool | None = Field(None, description="required / optional items")
    yearly: list[Number] = Field(default_factory=list, max_length=10,
                                 description="parks: oldest first")
    basis: str = Field("", pattern=OPTIONAL_DECIMAL, max_length=40,
                       description="a tiered indicator: the figure that picks its tier "
                                   "(e.g. annual energy use in tce; not negative), sent with "
                                   "the amount")
    products: list[ProductIn] = Field(default_factory=list, max_length=3,
                                      description="a per-product indicator: at most 3 products, "
                                                  "instead of an amount (not with one)")


class ValuesIn(BaseModel):
    values: list[ValueIn] = Field(default_factory=list, max_length=500)
    basic: dict[str, bool] = Field(default_factory=dict, description="basic requirement id → met")


class SubmitIn(BaseModel):
    highlights: str = Field("", max_length=100, description="亮点, at most 100 characters")
    preparer: str = Field("", max_length=100)
    reviewer: str = Field("", max_length=100)
    pledge: bool = Field(description="the integrity pledge (诚信承诺)")
    claimed_total: str = ""


@router.get("/schemes", summary="Evaluation schemes and their versions (with definitions)",
            response_model=list[Scheme],  # type: ignore[valid-type]
            responses=errors(body="none"))
async def list_schemes(call: TenantDep) -> JSONResponse:
    schemes = (await call.evaluation.ListSchemes(pb.ListSchemesRequest())).schemes
    return reply([{**as_json(s), "definition": json.loads(s.definition_json)} for s in schemes])


@router.post("/evaluations", status_code=201, response_model=Evaluation,
             summary="Start a self-evaluation of a unit, or an institution's under its engagement",
             responses=errors(SEEN, ENGAGEMENT, {404: ["scheme.unknown", "unit.not_found"],
                              409: ["evaluation.reports_not_accepted",
                              "evaluation.wrote_self_evaluation"],
                              422: ["evaluation.request_id_required",
                              "evaluation.assisted_by_self_only", "evaluation.level_engagement",
                              "evaluation.level_unknown", "evaluation.scheme_category",
                              "number.out_of_range", "text.too_long", "uscc.length", "uscc.charset",
                              "uscc.region"]}))
async def create(body: EvaluationIn, call: TenantDep) -> JSONResponse:
    request = pb.CreateEvaluationRequest(**body.model_dump())
    request.request_id = request.request_id or str(uuid.uuid4())
    return reply(evaluation_json(await call.evaluation.CreateEvaluation(request)), 201)


@router.get("/evaluations", summary="A unit's evaluations, or the one done under an engagement",
            response_model=list[Evaluation],  # type: ignore[valid-type]
            responses=errors(SEEN, {404: ["unit.not_found"]}, body="none"))
async def list_evaluations(call: TenantDep, unit_id: str = "",
                           engagement_id: str = "") -> JSONResponse:
    result = await call.evaluation.ListEvaluations(pb.ListEvaluationsRequest(
        unit_id=unit_id, engagement_id=engagement_id))
    return reply([evaluation_json(e) for e in result.evaluations])


@router.get("/evaluations/{evaluation_id}", summary="One evaluation", response_model=Evaluation,
            responses=errors(EVALUATION, body="none"))
async def get(evaluation_id: str, call: TenantDep) -> JSONResponse:
    request = pb.GetEvaluationRequest(evaluation_id=evaluation_id)
    return reply(evaluation_json(await call.evaluation.GetEvaluation(request)))


@router.patch("/evaluations/{evaluation_id}/values", summary="Set indicator values (draft only)",
              response_model=Evaluation,
              responses=errors(EVALUATION, ENGAGEMENT, WRITABLE, VALUES, {422: ["value.basis_alone",
                               "value.forms_mixed", "value.products_and_amount"]}))
async def set_values(evaluation_id: str, body: ValuesIn, call: TenantDep) -> JSONResponse:
    request = pb.SetValuesRequest(
        evaluation_id=evaluation_id,
        basic=[pb.BasicValue(requirement_id=k, met=v) for k, v in body.basic.items()])
    for v in body.values:
        value = pb.IndicatorValue(indicator_id=v.indicator_id, amount=v.amount, unit=v.unit,
                                  option=v.option, yearly=v.yearly, basis=v.basis,
                                  products=[pb.ProductValue(**p.model_dump())
                                            for p in v.products])
        if v.met is not None:
            value.met = v.met
        request.values.append(value)
    return reply(evaluation_json(await call.evaluation.SetValues(request)))


EVIDENCE_MAX_BYTES = limits().evidence_max_bytes
# The evidence upload takes a body up to the platform's evidence file limit (the figure the
# evaluation service refuses a file over) plus the multipart framing; other routes keep the
# general limit (GL_MAX_BODY_BYTES). Read by gateway.app's body-size middleware.
BODY_LIMITS = (RouteLimit("POST", f"{router.prefix}/evaluations/{{evaluation_id}}/evidence",
                          figure=EVIDENCE_MAX_BYTES, framing=MULTIPART_FRAMING,
                          code="request.evidence_too_large"),)


@router.post("/evaluations/{evaluation_id}/evidence", status_code=201,
             response_model=model_of(pb.Evidence),
             summary="Upload an evidence file for an indicator (stored by its sha256)",
             description=(
                 f"One file of at most {EVIDENCE_MAX_BYTES} bytes "
                 f"({EVIDENCE_MAX_BYTES / 2**20:g} MiB). Every upload keeps its own file name, "
                 "uploader and time; the same bytes are stored once. The same bytes under the "
                 "same name for the same indicator are the same upload (a retry)."),
                 responses=errors(EVALUATION, ENGAGEMENT, WRITABLE, {
                     413: ["evidence.too_large"],
                     422: ["evidence.empty", "evidence.type", "evidence.content_mismatch",
                           "value.unknown_indicator", "text.too_long"]},
                     body="form", too_large="request.evidence_too_large"))
async def add_evidence(evaluation_id: str, call: TenantDep, indicator_id: str = Form(...),
                       file: UploadFile = File(...)) -> JSONResponse:
    request = pb.AddEvidenceRequest(
        evaluation_id=evaluation_id, indicator_id=indicator_id, filename=file.filename or "",
        content_type=file.content_type or "", content=await file.read())
    return reply(as_json(await call.evaluation.AddEvidence(request)), 201)


@router.get("/evaluations/{evaluation_id}/score", response_model=Evaluation,
            summary="The score as the data stand now, every point explained",
            description="A draft is scored as its data stand now, against the registry's veto "
                        "check of today; a submitted evaluation answers the score kept at "
                        "submission (never computed again).",
                        responses=errors(EVALUATION, VETO, VALUES, body="none"))
async def preview(evaluation_id: str, call: TenantDep) -> JSONResponse:
    request = pb.GetEvaluationRequest(evaluation_id=evaluation_id)
    return reply(evaluation_json(await call.evaluation.PreviewScore(request)))


@router.post("/evaluations/{evaluation_id}/submit", response_model=Evaluation,
             summary="Submit: veto check, automated score, frozen report",
             responses=errors(EVALUATION, ENGAGEMENT, WRITABLE, VETO, VALUES, {
                 409: ["evaluation.engagement_required", "evaluation.reports_not_accepted",
                       "evaluation.wrote_self_evaluation"],
                 422: ["evaluation.institution_requires", "report.pledge_required",
                       "report.highlights_too_long"]}))
async def submit(evaluation_id: str, body: SubmitIn, call: TenantDep) -> JSONResponse:
    request = pb.SubmitEvaluationRequest(evaluation_id=evaluation_id, **body.model_dump())
    return reply(evaluation_json(await call.evaluation.SubmitEvaluation(request)))


@router.get("/evaluations/{evaluation_id}/report", summary="The report as JSON, HTML or PDF",
            response_class=Response, responses={**errors(EVALUATION,
                                                         {409: ["evaluation.not_submitted"],
                                                         422: ["report.format"]}, body="none"),
                                                         200: {
                "description": "the frozen report; its sha256 in ``X-Content-Hash``, the "
                               "platform's signature over it in ``X-Report-Signature`` (base64, "
                               "Ed25519) made with the key ``X-Report-Key-Id`` (empty for a "
                               "report from before reports were signed)",
                "content": {"application/json": {}, "text/html": {}, "application/pdf": {}}}})
async def get_report(evaluation_id: str, call: TenantDep,
                     format: str = Query("json", pattern="^(json|html|pdf)$")) -> Response:
    report = await call.evaluation.GetReport(pb.GetReportRequest(evaluation_id=evaluation_id,
                                                                 format=format))
    return Response(content=report.content, media_type=report.content_type,
                    headers={"X-Content-Hash": report.content_hash,
                             "X-Report-Key-Id": report.key_id,
                             "X-Report-Signature": report.signature})


class RescoreIn(BaseModel):
    to_version: int = Field(ge=1, le=MAX_VERSION)
    unit_ids: list[str] = Field(default_factory=list, max_length=10000,
                                description="empty: every submitted evaluation of the scheme")


# However many evaluations are held, the rows stream through: the deadline bounds the whole stream.
RESCORE_TIMEOUT = 600.0


@router.post("/schemes/{scheme_id}/rescore", response_model=model_of(pb.RescoreResponse),
             summary="What a new scheme version would make of the evaluations held (read-only)",
             description=(
                 "Streamed as the evaluations are scored again: the scheme and version first, "
                 "then `rows` one by one, then the counters (`evaluations`, `now_below_mark`, "
                 "`fell_by_indicator`). A refusal comes before any row, as an error answer."),
                 responses=errors(SEEN, {404: ["scheme.unknown"], 422: ["number.out_of_range",
                                  "scoring.level_unknown"]}))
async def rescore(scheme_id: str, body: RescoreIn, call: TenantDep) -> StreamingResponse:
    request = pb.RescoreRequest(scheme_id=scheme_id, to_version=body.to_version,
                                unit_ids=body.unit_ids)
    tally = RescoreTally()
    return await streamed(call.evaluation.Rescore(request, timeout=RESCORE_TIMEOUT),
                          opening={"scheme_id": scheme_id, "to_version": body.to_version},
                          key="rows", each=tally.add, closing=tally.closing)
