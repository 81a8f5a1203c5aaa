"""Evaluation use cases: authorise, validate, store, record the event — one transaction each.

A self-evaluation (自评价) is the unit's enterprise's; officials of the unit's city and province
and the ministry read it. An evaluation is pinned to the scheme version it was created under and
is frozen once submitted. Facts from the registry (the unit, the veto check) arrive as arguments:
the gRPC layer asks the registry for them on the caller's behalf.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy.exc import IntegrityError

from greenladder.events.v1 import events_pb2 as ev
from services.evaluation import report, scoring, store
from services.evaluation.schemes import Scheme, get_scheme
from services.evaluation.store import Evaluation, EvidenceBlob, EvidenceLink
from services.kernel import clock
from services.kernel.errors import (
    DomainError,
    Kind,
    bounded,
    forbidden,
    invalid,
    not_found,
    precondition,
)
from services.kernel.identity import Identity, authorize, visible_scope
from services.kernel.service import Runtime
from services.kernel.uscc import parse_uscc

READ = ("enterprise", "city", "province", "ministry")
OWN = ("enterprise",)


@lru_cache(maxsize=1)
def rules() -> dict:
    return yaml.safe_load((Path(__file__).parent / "data" / "evaluation.yaml").read_text("utf-8"))


def _load(s, ident: Identity, tenant: str, evaluation_id: str, *,  # type: ignore[no-untyped-def]
          write: bool = False) -> Evaluation:
    evaluation = store.get(session=s, evaluation_id=evaluation_id, for_update=write)
    if evaluation is None:
        authorize(ident, tenant, (*READ, "institution"), write=write)
        raise not_found("evaluation.not_found", evaluation_id=evaluation_id)
    _authorize_on(ident, tenant, evaluation, write=write)
    return evaluation


def _authorize_on(ident: Identity, tenant: str, evaluation: Evaluation, *, write: bool) -> None:
    """A self-evaluation is written by the unit's enterprise; an institution's evaluation by the
    institution alone. Both are read by the unit's enterprise, city, province and the ministry,
    and an institution's also by the institution."""
    if evaluation.path == "institution":
        if any(g.role == "institution" and g.org == evaluation.institution_uscc
               for g in ident.in_tenant(tenant, write=write)):
            return
        if write:
            raise forbidden("evaluation.institution_writes", institution=evaluation.institution_uscc)
    authorize(ident, tenant, OWN if write else READ, location=evaluation.unit_location,
              org=evaluation.unit_uscc, write=write)


def _draft(evaluation: Evaluation) -> None:
    if evaluation.status != "draft":
        raise precondition("evaluation.frozen", evaluation_id=evaluation.id)


# --- values ---------------------------------------------------------------------------------------


def stored_value(value: dict) -> scoring.Value:
    """A stored value as the scorer takes it."""
    if "yearly" in value:
        return scoring.Yearly(value["yearly"], value.get("unit", ""))
    if "amount" in value:
        return scoring.Quantity(value["amount"], value.get("unit", ""))
    if "option" in value:
        return value["option"]
    return value.get("met")


def _score(scheme: Scheme, values: dict[str, dict], basic: dict[str, bool]) -> scoring.Result:
    return scoring.score(scheme, {k: stored_value(v) for k, v in values.items()}, basic=basic)


def _score_held(evaluation: Evaluation) -> scoring.Result:
    """The evaluation's data scored under the version it is pinned to."""
    return _score(get_scheme(evaluation.scheme_id, evaluation.scheme_version),
                  json.loads(evaluation.values_json), json.loads(evaluation.basic_json))


def parse_value(indicator_id: str, *, amount: str, unit: str, option: str, met: bool | None,
                yearly: list[str]) -> dict:
    """One value from a caller, in the form it is stored; its type is checked by the scorer."""
    for number in [amount, *yearly]:
        if number:
            try:
                Decimal(number)
            except InvalidOperation:
                raise invalid("value.not_a_number", id=indicator_id, value=number) from None
    if yearly:
        return {"yearly": yearly, "unit": unit}
    if amount:
        return {"amount": amount, "unit": unit}
    if option:
        return {"option": option}
    if met is not None:
        return {"met": met}
    return {}


# --- use cases ------------------------------------------------------------------------------------


def create(rt: Runtime, *, ident: Identity, tenant: str, unit: dict, scheme_id: str,
           scheme_version: int, request_id: str, assisted_by: str,
           engagement: dict | None = None) -> Evaluation:
    """A self-evaluation of ``unit`` (as the registry gave it) under a pinned scheme version, or,
    with ``engagement`` (as the institutions service gave it), the engaged institution's."""
    if engagement is None:
        authorize(ident, tenant, OWN, location=unit["location"], org=unit["uscc"], write=True)
    else:
        authorize(ident, tenant, ("institution",), org=engagement["institution_uscc"], write=True)
        if not engagement["reports_accepted"]:
            raise precondition("evaluation.reports_not_accepted",
                               institution=engagement["institution_uscc"])
        if assisted_by:
            raise invalid("evaluation.assisted_by_self_only")
    scheme = get_scheme(scheme_id, scheme_version or None)
    if scheme.category != unit["kind"]:
        raise invalid("evaluation.scheme_category", scheme=scheme_id, category=scheme.category,
                      kind=unit["kind"])
    request_id = bounded(request_id, "request_id", 80)
    if not request_id:
        raise invalid("evaluation.request_id_required")
    if assisted_by:
        assisted_by = parse_uscc(assisted_by).code
    try:
        with rt.db.session(tenant, write=True) as s:
            existing = store.by_request(session=s, created_by=ident.subject, request_id=request_id)
            if existing is None and engagement is not None:
                existing = store.by_engagement(session=s, engagement_id=engagement["id"])
            if existing is not None:
                return existing  # a retried create returns the first draft
            evaluation = Evaluation(
                id=store.new_id(), unit_id=unit["id"], unit_uscc=unit["uscc"],
                unit_location=unit["location"], unit_json=json.dumps(unit, ensure_ascii=False),
                scheme_id=scheme.id, scheme_version=scheme.version, assisted_by=assisted_by,
                path="self" if engagement is None else "institution",
                institution_uscc=engagement["institution_uscc"] if engagement else "",
                engagement_id=engagement["id"] if engagement else "",
                request_id=request_id, created_by=ident.subject, created_at=clock.now())
            s.add(evaluation)
            return evaluation
    except IntegrityError:  # a concurrent create with the same key or for the same engagement
        with rt.db.session(tenant) as s:
            existing = store.by_request(session=s, created_by=ident.subject, request_id=request_id)
            if existing is None and engagement is not None:
                existing = store.by_engagement(session=s, engagement_id=engagement["id"])
        if existing is None:
            raise
        return existing


def get(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str) -> Evaluation:
    with rt.db.session(tenant) as s:
        return _load(s, ident, tenant, evaluation_id)


def of_unit(rt: Runtime, *, ident: Identity, tenant: str, unit: dict) -> list[Evaluation]:
    authorize(ident, tenant, READ, location=unit["location"], org=unit["uscc"])
    with rt.db.session(tenant) as s:
        return list(store.of_unit(session=s, unit_id=unit["id"]))


def of_engagement(rt: Runtime, *, ident: Identity, tenant: str,
                  engagement_id: str) -> list[Evaluation]:
    """The evaluation done under an engagement, for whoever may read it."""
    authorize(ident, tenant, (*READ, "institution"))
    with rt.db.session(tenant) as s:
        found = store.by_engagement(session=s, engagement_id=engagement_id)
        if found is None:
            return []
        _authorize_on(ident, tenant, found, write=False)
        return [found]


def writable(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str) -> Evaluation:
    """The evaluation, if the caller may change it (checked again when it is changed)."""
    with rt.db.session(tenant) as s:
        evaluation = _load(s, ident, tenant, evaluation_id)
    _authorize_on(ident, tenant, evaluation, write=True)
    return evaluation


def evidence(rt: Runtime, *, tenant: str, evaluation_id: str) -> list[tuple[EvidenceLink, EvidenceBlob]]:
    """The evaluation's evidence; the caller has already been allowed to see the evaluation."""
    with rt.db.session(tenant) as s:
        return list(store.evidence(session=s, evaluation_id=evaluation_id))


def set_values(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str,
               values: dict[str, dict], basic: dict[str, bool]) -> Evaluation:
    """Merge indicator values and basic-requirement declarations into a draft. Every value is
    checked against the pinned scheme (indicator, type, unit) before anything is kept."""
    with rt.db.session(tenant, write=True) as s:
        evaluation = _load(s, ident, tenant, evaluation_id, write=True)
        _draft(evaluation)
        merged = {**json.loads(evaluation.values_json), **values}
        merged = {k: v for k, v in merged.items() if v}          # an empty value clears it
        declared = {**json.loads(evaluation.basic_json), **basic}
        # Scoring refuses a value the pinned scheme cannot take, before anything is kept.
        _score(get_scheme(evaluation.scheme_id, evaluation.scheme_version), merged, declared)
        evaluation.values_json = json.dumps(merged, ensure_ascii=False)
        evaluation.basic_json = json.dumps(declared)
        s.add(evaluation)
        return evaluation


def add_evidence(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str,
                 indicator_id: str, filename: str, content_type: str, content: bytes) -> EvidenceLink:
    """Store a file once by its sha256 and link it to an indicator of a draft."""
    limits = rules()["evidence"]
    if not content:
        raise invalid("evidence.empty")
    if len(content) > limits["max_bytes"]:
        raise DomainError("evidence.too_large", Kind.TOO_LARGE, size=len(content),
                          max=limits["max_bytes"])
    filename = bounded(filename, "filename", 200)
    kind = limits["types"].get(content_type)
    if kind is None or not filename.lower().endswith(tuple(kind["extensions"])):
        raise invalid("evidence.type", content_type=content_type, filename=filename,
                      allowed=", ".join(sorted(limits["types"])))
    if not any(content.startswith(m.encode("latin-1")) for m in kind["magic"]):
        raise invalid("evidence.content_mismatch", content_type=content_type)
    digest = hashlib.sha256(content).hexdigest()
    with rt.db.session(tenant, write=True) as s:
        evaluation = _load(s, ident, tenant, evaluation_id, write=True)
        _draft(evaluation)
        scheme = get_scheme(evaluation.scheme_id, evaluation.scheme_version)
        if indicator_id not in {i.id for _, i in scheme.indicators()}:
            raise invalid("value.unknown_indicator", scheme=f"{scheme.id} v{scheme.version}",
                          id=indicator_id)
        if s.get(EvidenceBlob, digest) is None:
            s.add(EvidenceBlob(sha256=digest, size=len(content), content_type=content_type,
                               content=content, created_at=clock.now()))
        link = s.get(EvidenceLink, (evaluation.id, indicator_id, digest))
        if link is None:
            link = EvidenceLink(evaluation_id=evaluation.id, indicator_id=indicator_id,
                                sha256=digest, filename=filename, uploaded_by=ident.subject,
                                uploaded_at=clock.now())
            s.add(link)
        return link


def preview(rt: Runtime, *, ident: Identity, tenant: str,
            evaluation_id: str) -> tuple[Evaluation, scoring.Result]:
    """The score as the data stand now, every point explained; nothing is stored."""
    with rt.db.session(tenant) as s:
        evaluation = _load(s, ident, tenant, evaluation_id)
    return evaluation, _score_held(evaluation)


def submit(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str, veto: dict,
           highlights: str, preparer: str, reviewer: str, pledge: bool,
           claimed_total: str, standing: dict | None = None) -> Evaluation:
    """Freeze the evaluation, score it, and keep its report. The registry's veto check (as of
    today) and the basic requirements come first: a veto names its condition and records.
    An institution's report (``standing``: its engagement as the institutions service sees it
    now) names a preparer and a reviewer and carries the institution's own claimed score."""
    if standing is not None:
        if not standing["reports_accepted"]:
            raise precondition("evaluation.reports_not_accepted",
                               institution=standing["institution"]["uscc"])
        for key, value in (("preparer", preparer), ("reviewer", reviewer),
                           ("claimed_total", claimed_total)):
            if not value.strip():
                raise invalid("evaluation.institution_requires", field=key)
    claimed = None
    if claimed_total.strip():
        try:
            claimed = Decimal(claimed_total)
        except InvalidOperation:
            raise invalid("value.not_a_number", id="claimed_total", value=claimed_total) from None
    with rt.db.session(tenant, write=True) as s:
        evaluation = _load(s, ident, tenant, evaluation_id, write=True)
        if evaluation.status == "submitted":
            return evaluation  # submitted already: a retry changes nothing
        if (evaluation.path == "institution") != (standing is not None):
            raise precondition("evaluation.engagement_required", evaluation_id=evaluation.id)
        scheme = get_scheme(evaluation.scheme_id, evaluation.scheme_version)
        result = _score_held(evaluation)
        links = store.evidence(session=s, evaluation_id=evaluation.id)
        refs: dict[str, list[dict]] = {}
        for link, _ in links:
            refs.setdefault(link.indicator_id, []).append(
                {"sha256": link.sha256, "filename": link.filename})
        now = clock.now()
        content = report.build_report(report.ReportInput(
            evaluation_id=evaluation.id, tenant=tenant, unit=json.loads(evaluation.unit_json),
            scheme=scheme, path=evaluation.path,
            institution=standing["institution"] if standing is not None else None,
            basic=json.loads(evaluation.basic_json), veto=veto, result=result, evidence=refs,
            highlights=highlights, preparer=preparer, reviewer=reviewer, pledge=pledge,
            claimed_total=claimed, submitted_at=clock.iso(now)))
        vetoed = result.vetoed or bool(veto.get("vetoed"))
        evaluation.status, evaluation.submitted_at = "submitted", now
        evaluation.result_json = json.dumps(result_dict(result), ensure_ascii=False)
        evaluation.total = str(result.total)
        evaluation.vetoed = vetoed
        evaluation.passed = result.passed and not vetoed
        evaluation.report_json = json.dumps(content, ensure_ascii=False)
        evaluation.report_hash = content["content_hash"]
        evaluation.claimed_total = str(claimed) if claimed is not None else ""
        s.add(evaluation)
        rt.record(s, "evaluation.submitted", ev.EvaluationSubmitted(
            evaluation_id=evaluation.id, unit_id=evaluation.unit_id, scheme_id=scheme.id,
            scheme_version=scheme.version, path=evaluation.path,
            report_hash=evaluation.report_hash))
        rt.record(s, "evaluation.scored", ev.EvaluationScored(
            evaluation_id=evaluation.id, unit_id=evaluation.unit_id, scheme_id=scheme.id,
            scheme_version=scheme.version, total=evaluation.total, passed=evaluation.passed,
            vetoed=vetoed, claimed_total=str(claimed) if claimed is not None else "",
            deviation=str(claimed - result.total) if claimed is not None else "",
            institution_uscc=evaluation.institution_uscc, engagement_id=evaluation.engagement_id))
        return evaluation


def report_of(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str,
              fmt: str) -> tuple[bytes, str, str]:
    """The submitted evaluation's report as JSON, printable HTML or PDF."""
    with rt.db.session(tenant) as s:
        evaluation = _load(s, ident, tenant, evaluation_id)
    if evaluation.status != "submitted":
        raise precondition("evaluation.not_submitted", evaluation_id=evaluation_id)
    content = json.loads(evaluation.report_json)
    if fmt == "json":
        body, kind = json.dumps(content, ensure_ascii=False, indent=2).encode(), "application/json"
    elif fmt == "html":
        body, kind = report.render_html(content).encode(), "text/html; charset=utf-8"
    elif fmt == "pdf":
        body, kind = report.render_pdf(content), "application/pdf"
    else:
        raise invalid("report.format", value=fmt, allowed="json/html/pdf")
    return body, kind, evaluation.report_hash


def result_dict(result: scoring.Result) -> dict:
    """A result as JSON-able data, numbers as text so nothing is lost to floats."""
    def plain(value):  # type: ignore[no-untyped-def]
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        return value

    return {
        "scheme_id": result.scheme_id, "scheme_version": result.scheme_version,
        "indicators": [{k: plain(getattr(line, k)) for k in line.__slots__}
                       for line in result.indicators],
        "categories": [{k: plain(getattr(c, k)) for k in c.__slots__} for c in result.categories],
        "total": str(result.total), "max_total": str(result.max_total),
        "pass_mark": str(result.pass_mark), "passed": result.passed,
        "vetoed_by": list(result.vetoed_by), "failed_required": list(result.failed_required),
        "missing": list(result.missing),
    }


# --- re-scoring under a new version ---------------------------------------------------------------


def rescore(rt: Runtime, *, ident: Identity, tenant: str, scheme_id: str, to_version: int,
            unit_ids: list[str]) -> list[dict]:
    """Score the submitted evaluations of ``scheme_id`` again under ``to_version`` from the data
    held, and say, indicator by indicator, who would now fall below the mark. Read-only."""
    scope = visible_scope(ident, tenant, ("city", "province", "ministry"))
    new = get_scheme(scheme_id, to_version)
    wanted = set(unit_ids)
    with rt.db.session(tenant) as s:
        held = [e for e in store.submitted_of(session=s, scheme_id=scheme_id)
                if (not wanted or e.unit_id in wanted)
                and e.unit_location.startswith(scope.location_prefix)]
    rows = []
    for evaluation in held:
        old = json.loads(evaluation.result_json)
        carried, dropped = _carry(new, json.loads(evaluation.values_json))
        basic = {k: v for k, v in json.loads(evaluation.basic_json).items()
                 if k in {r.id for r in new.basic_requirements}}
        result = scoring.score(new, carried, basic=basic)
        before = {line["id"]: Decimal(line["points"]) for line in old["indicators"]}
        changes = [{"indicator_id": line.id, "old_points": str(before.get(line.id, Decimal(0))),
                    "new_points": str(line.points),
                    "fell": line.points < before.get(line.id, Decimal(0))}
                   for line in result.indicators if line.points != before.get(line.id, Decimal(0))]
        passed_before = bool(old["passed"]) and not evaluation.vetoed
        passed_now = result.passed and not evaluation.vetoed
        rows.append({"evaluation_id": evaluation.id, "unit_id": evaluation.unit_id,
                     "from_version": evaluation.scheme_version, "old_total": old["total"],
                     "new_total": str(result.total), "old_passed": passed_before,
                     "new_passed": passed_now, "now_below_mark": passed_before and not passed_now,
                     "changes": changes, "not_carried": dropped})
    return rows


def _carry(scheme: Scheme, values: dict[str, dict]) -> tuple[dict[str, scoring.Value], list[str]]:
    """The held values the new version can take; the others are named, not guessed."""
    carried: dict[str, scoring.Value] = {}
    dropped: list[str] = []
    for indicator_id, value in sorted(values.items()):
        if scoring.accepts(scheme, indicator_id, stored_value(value)):
            carried[indicator_id] = stored_value(value)
        else:
            dropped.append(indicator_id)
    return carried, dropped
