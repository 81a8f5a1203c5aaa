"""Evaluation routes (SPEC §4) under ``/api/v1/tenants/{tenant}/``: schemes, self-evaluations,
values, evidence, scoring and reports. The evaluation service holds the rules."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.deps import TenantDep
from gateway.routes._common import ERRORS, as_json, reply
from gateway.schemas import model_of
from generated.evaluation.v1 import evaluation_pb2 as pb
from services.kernel.errors import MAX_VERSION

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["evaluation"], responses=ERRORS)
_JSON_FIELDS = ("values_json", "basic_json", "result_json")

Evaluation = model_of(pb.EvaluationView, name="Evaluation", drop=_JSON_FIELDS, add={
    "values": (Any, Field(description="indicator values as entered")),
    "basic": (Any, Field(description="basic requirement id → met")),
    "result": (Any, Field(description="the score, every point explained; null before scoring")),
})
Scheme = model_of(pb.SchemeSummary, name="Scheme", add={"definition": Any})


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


class ValueIn(BaseModel):
    indicator_id: str
    amount: str = Field("", description="quantitative: a decimal number as text")
    unit: str = ""
    option: str = Field("", description="qualitative: a rubric option id")
    met: bool | None = Field(None, description="required / optional items")
    yearly: list[str] = Field(default_factory=list, max_length=10, description="parks: oldest first")


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
            response_model=list[Scheme])  # type: ignore[valid-type]
async def list_schemes(call: TenantDep) -> JSONResponse:
    schemes = (await call.evaluation.ListSchemes(pb.ListSchemesRequest())).schemes
    return reply([{**as_json(s), "definition": json.loads(s.definition_json)} for s in schemes])


@router.post("/evaluations", status_code=201, response_model=Evaluation,
             summary="Start a self-evaluation of a unit, or an institution's under its engagement")
async def create(body: EvaluationIn, call: TenantDep) -> JSONResponse:
    request = pb.CreateEvaluationRequest(**body.model_dump())
    request.request_id = request.request_id or str(uuid.uuid4())
    return reply(evaluation_json(await call.evaluation.CreateEvaluation(request)), 201)


@router.get("/evaluations", summary="A unit's evaluations, or the one done under an engagement",
            response_model=list[Evaluation])  # type: ignore[valid-type]
async def list_evaluations(call: TenantDep, unit_id: str = "",
                           engagement_id: str = "") -> JSONResponse:
    result = await call.evaluation.ListEvaluations(pb.ListEvaluationsRequest(
        unit_id=unit_id, engagement_id=engagement_id))
    return reply([evaluation_json(e) for e in result.evaluations])


@router.get("/evaluations/{evaluation_id}", summary="One evaluation", response_model=Evaluation)
async def get(evaluation_id: str, call: TenantDep) -> JSONResponse:
    request = pb.GetEvaluationRequest(evaluation_id=evaluation_id)
    return reply(evaluation_json(await call.evaluation.GetEvaluation(request)))


@router.patch("/evaluations/{evaluation_id}/values", summary="Set indicator values (draft only)",
              response_model=Evaluation)
async def set_values(evaluation_id: str, body: ValuesIn, call: TenantDep) -> JSONResponse:
    request = pb.SetValuesRequest(
        evaluation_id=evaluation_id,
        basic=[pb.BasicValue(requirement_id=k, met=v) for k, v in body.basic.items()])
    for v in body.values:
        value = pb.IndicatorValue(indicator_id=v.indicator_id, amount=v.amount, unit=v.unit,
                                  option=v.option, yearly=v.yearly)
        if v.met is not None:
            value.met = v.met
        request.values.append(value)
    return reply(evaluation_json(await call.evaluation.SetValues(request)))


@router.post("/evaluations/{evaluation_id}/evidence", status_code=201,
             response_model=model_of(pb.Evidence),
             summary="Upload an evidence file for an indicator (stored by its sha256)")
async def add_evidence(evaluation_id: str, call: TenantDep, indicator_id: str = Form(...),
                       file: UploadFile = File(...)) -> JSONResponse:
    request = pb.AddEvidenceRequest(
        evaluation_id=evaluation_id, indicator_id=indicator_id, filename=file.filename or "",
        content_type=file.content_type or "", content=await file.read())
    return reply(as_json(await call.evaluation.AddEvidence(request)), 201)


@router.get("/evaluations/{evaluation_id}/score", response_model=Evaluation,
            summary="The score as the data stand now, every point explained")
async def preview(evaluation_id: str, call: TenantDep) -> JSONResponse:
    request = pb.GetEvaluationRequest(evaluation_id=evaluation_id)
    return reply(evaluation_json(await call.evaluation.PreviewScore(request)))


@router.post("/evaluations/{evaluation_id}/submit", response_model=Evaluation,
             summary="Submit: veto check, automated score, frozen report")
async def submit(evaluation_id: str, body: SubmitIn, call: TenantDep) -> JSONResponse:
    request = pb.SubmitEvaluationRequest(evaluation_id=evaluation_id, **body.model_dump())
    return reply(evaluation_json(await call.evaluation.SubmitEvaluation(request)))


@router.get("/evaluations/{evaluation_id}/report", summary="The report as JSON, HTML or PDF",
            response_class=Response, responses={200: {
                "description": "the frozen report; its sha256 in ``X-Content-Hash``",
                "content": {"application/json": {}, "text/html": {}, "application/pdf": {}}}})
async def get_report(evaluation_id: str, call: TenantDep,
                     format: str = Query("json", pattern="^(json|html|pdf)$")) -> Response:
    report = await call.evaluation.GetReport(pb.GetReportRequest(evaluation_id=evaluation_id,
                                                                 format=format))
    return Response(content=report.content, media_type=report.content_type,
                    headers={"X-Content-Hash": report.content_hash})


class RescoreIn(BaseModel):
    to_version: int = Field(ge=1, le=MAX_VERSION)
    unit_ids: list[str] = Field(default_factory=list, max_length=10000,
                                description="empty: every submitted evaluation of the scheme")


@router.post("/schemes/{scheme_id}/rescore", response_model=model_of(pb.RescoreResponse),
             summary="What a new scheme version would make of the evaluations held (read-only)")
async def rescore(scheme_id: str, body: RescoreIn, call: TenantDep) -> JSONResponse:
    request = pb.RescoreRequest(scheme_id=scheme_id, to_version=body.to_version,
                                unit_ids=body.unit_ids)
    return reply(as_json(await call.evaluation.Rescore(request)))
