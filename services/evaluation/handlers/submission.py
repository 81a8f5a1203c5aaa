"""Submission (提交): the evaluation frozen, scored, its report signed, kept and announced; the
report read back as JSON, printable HTML or PDF; and any report checked against the published
report keys (public)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from generated.events.v1 import events_pb2 as ev
from services.evaluation import domain, report, store
from services.evaluation.facts import EngagementStanding, VetoFact
from services.evaluation.handlers.common import load
from services.evaluation.handlers.drafts import score_held
from services.evaluation.schemes import get_scheme
from services.evaluation.store import Evaluation
from services.kernel import clock, signing
from services.kernel.errors import refuse
from services.kernel.identity import Identity
from services.kernel.runtime import Runtime


def submit(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str, veto: VetoFact,
           highlights: str, preparer: str, reviewer: str, pledge: bool,
           claimed_total: str, standing: EngagementStanding | None = None) -> Evaluation:
    """Freeze the evaluation, score it, and keep its report. The registry's veto check (as of
    today) and the basic requirements come first: a veto names its condition and records.
    An institution's report (``standing``: its engagement as the institutions service sees it
    now) names a preparer and a reviewer and carries the institution's own claimed score; the
    ``evaluation.scored`` event states its deviation from the platform's. Independence is
    checked again: a self-evaluation of the unit written with the institution's help (or that of
    one party with it) since the draft was created refuses the submission. A basic requirement
    declared met that the veto check's records contradict is flagged in the score and the
    report. The report is signed with the platform's report key."""
    refuse(domain.institution_submit_refusal(standing, preparer=preparer, reviewer=reviewer,
                                             claimed_total=claimed_total))
    claimed = domain.parse_claimed(claimed_total)
    with rt.db.session(tenant, write=True) as s:
        evaluation = load(s, ident, tenant, evaluation_id, write=True)
        if evaluation.status == "submitted":
            return evaluation  # submitted already: a retry changes nothing
        refuse(domain.path_refusal(path=evaluation.path, engaged=standing is not None,
                                   evaluation_id=evaluation.id))
        refuse(domain.independence_refusal(
            standing, store.self_helpers(session=s, unit_id=evaluation.unit_id)))
        scheme = get_scheme(evaluation.scheme_id, evaluation.scheme_version)
        result = score_held(evaluation)
        basic = json.loads(evaluation.basic_json)
        found = domain.contradictions(basic, veto)
        refs: dict[str, list[dict]] = {}
        for link, _ in store.evidence(session=s, evaluation_id=evaluation.id):
            refs.setdefault(link.indicator_id, []).append(
                {"sha256": link.sha256, "filename": link.filename})
        now = clock.now()
        content = report.build_report(report.ReportInput(
            evaluation_id=evaluation.id, tenant=tenant, unit=json.loads(evaluation.unit_json),
            scheme=scheme, path=evaluation.path,
            institution=standing.institution.as_report() if standing is not None else None,
            basic=basic, veto=veto, result=result, contradictions=found,
            evidence=refs, highlights=highlights, preparer=preparer, reviewer=reviewer,
            pledge=pledge, claimed_total=claimed, submitted_at=clock.iso(now)))
        content = report.sign(content, signing.signer(rt.settings.keys, report.ISSUER))
        decided = domain.verdict(result, veto_applies=veto.vetoed, claimed=claimed)
        evaluation.status, evaluation.submitted_at = "submitted", now
        evaluation.result_json = json.dumps(domain.scored(result, found), ensure_ascii=False)
        evaluation.total = str(decided.total)
        evaluation.vetoed = decided.vetoed
        evaluation.passed = decided.passed
        evaluation.report_json = json.dumps(content, ensure_ascii=False)
        evaluation.report_hash = content["content_hash"]
        evaluation.claimed_total = decided.claimed_total
        s.add(evaluation)
        rt.record(s, ev.EvaluationSubmitted(
            evaluation_id=evaluation.id, unit_id=evaluation.unit_id, scheme_id=scheme.id,
            scheme_version=scheme.version, path=evaluation.path,
            report_hash=evaluation.report_hash))
        rt.record(s, ev.EvaluationScored(
            evaluation_id=evaluation.id, unit_id=evaluation.unit_id, scheme_id=scheme.id,
            scheme_version=scheme.version, total=evaluation.total, passed=evaluation.passed,
            vetoed=decided.vetoed, claimed_total=decided.claimed_total,
            deviation=decided.deviation, institution_uscc=evaluation.institution_uscc,
            engagement_id=evaluation.engagement_id))
        return evaluation


def report_of(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str,
              fmt: str) -> tuple[bytes, str, str, Mapping[str, Any]]:
    """The submitted evaluation's report as JSON, printable HTML or PDF: its bytes, content
    type, content hash (the same whatever the format) and signature block ({} before reports
    were signed). A report renders from its stored content alone (a PDF is the same bytes every
    time, and kept a while: ``report.render_pdf``)."""
    with rt.db.session(tenant) as s:
        evaluation = load(s, ident, tenant, evaluation_id)
    refuse(domain.report_refusal(status=evaluation.status, evaluation_id=evaluation_id, fmt=fmt))
    content = json.loads(evaluation.report_json)
    body, kind = report.render(content, fmt)
    signature = content.get("signature")
    return body, kind, evaluation.report_hash, signature if isinstance(signature, dict) else {}


def verify_report(rt: Runtime, *, ident: Identity, tenant: str,
                  content: bytes) -> report.Verification:
    """Whether ``content`` (a report as JSON, or its PDF) is one the platform signed and
    unchanged since, checked against the report keys published now, and for a PDF whether its
    pages are the platform's rendering of the signed report. Open to anyone; a file over the
    platform's figure is refused before it is read."""
    refuse(domain.verify_size_refusal(len(content)))
    keys = signing.load(rt.settings.keys, report.ISSUER, public_only=True)
    return report.verify(content, keys.public)


def report_keys(rt: Runtime, *, ident: Identity, tenant: str) -> tuple[str, dict[str, str]]:
    """The key reports are signed with now, and the public half of every report key still
    published (key id → PEM): what anyone needs to verify a report offline."""
    active = signing.signer(rt.settings.keys, report.ISSUER).active_kid
    return active, signing.load(rt.settings.keys, report.ISSUER, public_only=True).public_pems()
