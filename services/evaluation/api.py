"""The evaluation service's gRPC servicer: proto ⇄ handlers, and the registry (the unit, the veto
check) and the institutions service (an institution's engagement) asked on the caller's behalf.
Their answers become the frozen facts of ``facts.py`` here; no use case sees their messages."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any, TypeVar

from generated.evaluation.v1 import evaluation_pb2 as pb
from generated.evaluation.v1 import evaluation_pb2_grpc
from generated.institutions.v1 import institutions_pb2
from generated.institutions.v1.institutions_pb2_grpc import InstitutionsStub
from generated.registry.v1 import registry_pb2
from generated.registry.v1.registry_pb2_grpc import RegistryStub
from services.evaluation import domain, handlers, report
from services.evaluation.facts import (
    UNIT_KEYS,
    EngagementStanding,
    InstitutionFact,
    UnitFact,
    VetoCondition,
    VetoFact,
    VetoRecord,
)
from services.evaluation.schemes import schemes
from services.evaluation.store import Evaluation, EvidenceLink
from services.kernel.clock import iso
from services.kernel.identity import current_identity
from services.kernel.rpc import ServiceClient
from services.kernel.runtime import Runtime, Servicer
from services.kernel.tenancy import current_tenant
from services.kernel.veto import condition_names, kind_names

T = TypeVar("T")
# Threads of the pool that verifies reports (public) and renders PDFs (up to a few seconds of
# CPU each): work anyone may ask for waits its turn there, never taking the threads every other
# call of the service runs on (asyncio's default pool).
REPORT_WORKERS = 2


def view(e: Evaluation, evidence: list, result_json: str = "") -> pb.EvaluationView:
    return pb.EvaluationView(
        id=e.id, unit_id=e.unit_id, scheme_id=e.scheme_id, scheme_version=e.scheme_version,
        path=e.path, status=e.status, values_json=e.values_json, basic_json=e.basic_json,
        evidence=[evidence_view(link, size=blob.size, content_type=blob.content_type)
                  for link, blob in evidence],
        result_json=result_json or e.result_json, total=e.total, passed=e.passed,
        vetoed=e.vetoed, report_hash=e.report_hash, created_at=iso(e.created_at),
        submitted_at=iso(e.submitted_at) if e.submitted_at else "", assisted_by=e.assisted_by,
        institution_uscc=e.institution_uscc, engagement_id=e.engagement_id,
        claimed_total=e.claimed_total, level=e.level,
    )


def veto_record(r: registry_pb2.ComplianceRecord) -> VetoRecord:
    """A compliance record of the registry's veto check as a report states it."""
    kind_zh, kind_en = kind_names(r.kind)
    return VetoRecord(kind=r.kind, kind_zh=kind_zh, kind_en=kind_en, condition=r.condition,
                      occurred_on=r.occurred_on, ended_on=r.ended_on, reference=r.reference,
                      source=r.source)


def verification_view(found: report.Verification) -> pb.ReportVerification:
    """A report's check: the verdict, and the signed facts when the signature holds."""
    fields = {k: v for k, v in asdict(found).items() if k != "facts"}
    facts = None if found.facts is None else pb.SignedFacts(**asdict(found.facts))
    return pb.ReportVerification(**fields, facts=facts)


def evidence_view(link: EvidenceLink, *, size: int, content_type: str) -> pb.Evidence:
    """One upload: its own name, uploader and time; the stored bytes' hash, size and type."""
    return pb.Evidence(sha256=link.sha256, size=size, content_type=content_type,
                       filename=link.filename, indicator_id=link.indicator_id,
                       uploaded_by=link.uploaded_by, uploaded_at=iso(link.uploaded_at))


class EvaluationApi(Servicer, evaluation_pb2_grpc.EvaluationServicer):
    def __init__(self, runtime: Runtime, registry: ServiceClient,
                 institutions: ServiceClient) -> None:
        super().__init__(runtime)
        self.registry = registry
        self.institutions = institutions
        self.reports = ThreadPoolExecutor(max_workers=REPORT_WORKERS,
                                          thread_name_prefix="evaluation-reports")

    async def _report_work(self, fn: Callable[..., T], **kwargs: Any) -> T:
        """A use case verifying a report or rendering a PDF, on the reports' own small pool, as
        the verified caller in the tenant of the call (like ``_run``). A call abandoned while it
        waits (its deadline passed) is taken off the queue."""
        call = functools.partial(fn, self.rt, ident=current_identity(), tenant=current_tenant(),
                                 **kwargs)
        return await asyncio.get_running_loop().run_in_executor(
            self.reports, contextvars.copy_context().run, call)

    async def _view(self, evaluation: Evaluation, result_json: str = "") -> pb.EvaluationView:
        links = await asyncio.to_thread(handlers.evidence, self.rt, tenant=current_tenant(),
                                        evaluation_id=evaluation.id)
        return view(evaluation, links, result_json)

    async def _unit(self, unit_id: str) -> UnitFact:
        """The unit as the registry shows it to this caller (refusals pass through)."""
        unit = await self.registry.on_behalf(self.registry.stub(RegistryStub).GetUnit,
                                             registry_pb2.GetUnitRequest(unit_id=unit_id),
                                             tenant=current_tenant())
        return UnitFact(**{k: getattr(unit, k) for k in UNIT_KEYS})

    async def ListSchemes(self, r, context):  # type: ignore[no-untyped-def]
        return pb.ListSchemesResponse(schemes=[
            pb.SchemeSummary(id=s.id, version=s.version, title_zh=s.title_zh, title_en=s.title_en,
                             category=s.category, effective_from=s.effective_from.isoformat(),
                             total=str(s.total), pass_mark=str(s.pass_mark.for_level(None)),
                             definition_json=json.dumps(s.definition(), ensure_ascii=False),
                             provisional=s.provisional)
            for _, s in sorted(schemes().items())
        ])

    async def _standing(self, engagement_id: str) -> EngagementStanding:
        """The caller's (an institution's) engagement as the institutions service sees it now."""
        got = await self.institutions.on_behalf(
            self.institutions.stub(InstitutionsStub).CheckEngagement,
            institutions_pb2.CheckEngagementRequest(engagement_id=engagement_id),
            tenant=current_tenant())
        e, inst = got.engagement, got.institution
        return EngagementStanding(
            id=e.id, institution_uscc=e.institution_uscc, unit_id=e.unit_id,
            unit=UnitFact.of(json.loads(e.unit_json)), reports_accepted=got.reports_accepted,
            institution=InstitutionFact(uscc=inst.uscc, name=inst.name, address=inst.address,
                                        legal_representative=inst.legal_representative),
            party=tuple(got.party), level=e.level)

    async def _veto(self, unit_id: str) -> VetoFact:
        """The registry's veto check of the unit as of today, asked for the caller: each record
        as the report states it (kind and condition by name from the kernel's veto table, dates,
        reference, source; not the registry's ids nor who recorded it)."""
        got = await self.registry.on_behalf(
            self.registry.stub(RegistryStub).CheckVeto,
            registry_pb2.CheckVetoRequest(unit_id=unit_id), tenant=current_tenant())
        return VetoFact(vetoed=got.vetoed, on=got.on, conditions=tuple(
            VetoCondition(condition=c.condition, code=c.code, title=c.title,
                          title_zh=condition_names(c.condition)[0],
                          title_en=condition_names(c.condition)[1],
                          records=tuple(veto_record(r) for r in c.records))
            for c in got.conditions))

    async def CreateEvaluation(self, r, context):  # type: ignore[no-untyped-def]
        if r.engagement_id:
            standing: EngagementStanding | None = await self._standing(r.engagement_id)
            unit = standing.unit
        else:
            standing, unit = None, await self._unit(r.unit_id)
        evaluation = await self._run(handlers.create, unit=unit, scheme_id=r.scheme_id,
                                     scheme_version=r.scheme_version, request_id=r.request_id,
                                     assisted_by=r.assisted_by, engagement=standing,
                                     level=r.level)
        return await self._view(evaluation)

    async def GetEvaluation(self, r, context):  # type: ignore[no-untyped-def]
        return await self._view(await self._run(handlers.get, evaluation_id=r.evaluation_id))

    async def ListEvaluations(self, r, context):  # type: ignore[no-untyped-def]
        if r.engagement_id:
            evaluations = await self._run(handlers.of_engagement, engagement_id=r.engagement_id)
        else:
            evaluations = await self._run(handlers.of_unit, unit=await self._unit(r.unit_id))
        return pb.ListEvaluationsResponse(evaluations=[await self._view(e) for e in evaluations])

    async def _writable(self,
                        evaluation_id: str) -> tuple[Evaluation, EngagementStanding | None]:
        """The evaluation, if the caller may change it, and for an institution's draft its
        engagement as it stands now (a cancelled engagement or a 不采信 stops the work)."""
        current = await self._run(handlers.writable, evaluation_id=evaluation_id)
        if current.path == "institution" and current.status == "draft":
            return current, await self._standing(current.engagement_id)
        return current, None

    async def SetValues(self, r, context):  # type: ignore[no-untyped-def]
        await self._writable(r.evaluation_id)
        values = {
            v.indicator_id: domain.parse_value(
                v.indicator_id, amount=v.amount, unit=v.unit, option=v.option,
                met=v.met if v.HasField("met") else None, yearly=list(v.yearly), basis=v.basis,
                products=[{f: getattr(p, f) for f in domain.PRODUCT_FIELDS} for p in v.products])
            for v in r.values
        }
        evaluation = await self._run(handlers.set_values, evaluation_id=r.evaluation_id,
                                     values=values, basic={b.requirement_id: b.met for b in r.basic})
        return await self._view(evaluation)

    async def AddEvidence(self, r, context):  # type: ignore[no-untyped-def]
        await self._writable(r.evaluation_id)
        link = await self._run(handlers.add_evidence, evaluation_id=r.evaluation_id,
                               indicator_id=r.indicator_id, filename=r.filename,
                               content_type=r.content_type, content=r.content)
        return evidence_view(link, size=len(r.content), content_type=r.content_type)

    async def PreviewScore(self, r, context):  # type: ignore[no-untyped-def]
        current = await self._read(handlers.get, evaluation_id=r.evaluation_id)
        if not domain.scored_live(status=current.status):
            return await self._view(current)  # the score kept at submission: no veto asked
        scored = handlers.scored_now(current, await self._veto(current.unit_id))
        return await self._view(current, json.dumps(scored, ensure_ascii=False))

    async def SubmitEvaluation(self, r, context):  # type: ignore[no-untyped-def]
        current, standing = await self._writable(r.evaluation_id)
        if current.status == "submitted":
            return await self._view(current)  # submitted already: a retry changes nothing
        evaluation = await self._run(
            handlers.submit, evaluation_id=r.evaluation_id, veto=await self._veto(current.unit_id),
            highlights=r.highlights, preparer=r.preparer, reviewer=r.reviewer, pledge=r.pledge,
            claimed_total=r.claimed_total, standing=standing)
        return await self._view(evaluation)

    async def GetReport(self, r, context):  # type: ignore[no-untyped-def]
        fmt = r.format or "json"
        run = self._report_work if fmt == "pdf" else self._run
        body, kind, digest, signature = await run(
            handlers.report_of, evaluation_id=r.evaluation_id, fmt=fmt)
        return pb.Report(content=body, content_type=kind, content_hash=digest,
                         key_id=str(signature.get("key_id", "")),
                         signature=str(signature.get("signature", "")))

    async def VerifyReport(self, r, context):  # type: ignore[no-untyped-def]
        found = await self._report_work(handlers.verify_report, content=r.content)
        return verification_view(found)

    async def ListReportKeys(self, r, context):  # type: ignore[no-untyped-def]
        active, keys = await self._run(handlers.report_keys)
        return pb.ReportKeys(active=active, keys=keys)

    async def Rescore(self, r, context):  # type: ignore[no-untyped-def]
        """One row per evaluation as it is scored again (refusals come before the first row);
        the gateway adds up the counters as the rows pass."""
        async for row in self._stream(handlers.rescore, scheme_id=r.scheme_id,
                                      to_version=r.to_version, unit_ids=list(r.unit_ids)):
            yield pb.RescoreRow(**{k: v for k, v in asdict(row).items() if k != "changes"},
                                changes=[pb.IndicatorChange(**asdict(c)) for c in row.changes])
