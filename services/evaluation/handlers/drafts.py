"""Drafts: creating one (self path or institution path), reading, and filling in values.

An evaluation is pinned to the scheme version it was created under. Facts from other services
(the unit, an institution's engagement) arrive as frozen values: the gRPC layer asks the
registry and the institutions service for them on the caller's behalf.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from services.evaluation import domain, scoring, store
from services.evaluation.facts import EngagementStanding, UnitFact, VetoFact
from services.evaluation.handlers.common import authorize_on, draft, load
from services.evaluation.schemes import get_scheme
from services.evaluation.store import Evaluation
from services.kernel import clock
from services.kernel.errors import MAX_VERSION, range_refusal, refuse
from services.kernel.identity import Identity, authorize
from services.kernel.runtime import Runtime, create_once


def create(rt: Runtime, *, ident: Identity, tenant: str, unit: UnitFact, scheme_id: str,
           scheme_version: int, request_id: str, assisted_by: str,
           engagement: EngagementStanding | None = None, level: str = "") -> Evaluation:
    """A self-evaluation of ``unit`` (as the registry gave it) under a pinned scheme version, or,
    with ``engagement`` (as the institutions service gave it), the engaged institution's. A
    retried create (same caller, same ``request_id``) returns the first draft, and an engagement
    has one evaluation. The institution must be independent of whoever helped write the unit's
    self-evaluations as they are now (it, or one party with it, may not have). ``level`` (市级 /
    省级 / 国家级, or "" not said) sets the pass mark; an institution's evaluation is for its
    engagement's level."""
    if engagement is None:
        authorize(ident, tenant, domain.OWN, location=unit.location, org=unit.uscc, write=True)
    else:
        authorize(ident, tenant, ("institution",), org=engagement.institution_uscc, write=True)
    refuse(domain.engagement_refusal(engagement, assisted_by=assisted_by))
    with rt.db.session(tenant) as s:
        refuse(domain.independence_refusal(engagement,
                                           store.self_helpers(session=s, unit_id=unit.id)))
    refuse(range_refusal(scheme_version, "scheme_version", 1, MAX_VERSION, zero_means_default=True))
    scheme = get_scheme(scheme_id, scheme_version or None)
    refuse(domain.scheme_refusal(scheme, unit))
    refuse(domain.level_refusal(level, engagement))
    applied = domain.applied_level(level, engagement)
    new = domain.new_draft(unit=unit, scheme=scheme, engagement=engagement,
                           request_id=request_id, assisted_by=assisted_by)

    def existing(s: Session) -> Evaluation | None:
        first = store.by_request(session=s, created_by=ident.subject, request_id=new.request_id)
        if first is None and engagement is not None:
            first = store.by_engagement(session=s, engagement_id=engagement.id)
        return first

    def add(s: Session) -> Evaluation:
        evaluation = Evaluation(
            id=store.new_id(), unit_id=new.unit.id, unit_uscc=new.unit.uscc,
            unit_location=new.unit.location, unit_json=new.unit.as_json(),
            scheme_id=new.scheme_id, scheme_version=new.scheme_version,
            assisted_by=new.assisted_by, path=new.path, institution_uscc=new.institution_uscc,
            engagement_id=new.engagement_id, request_id=new.request_id, level=applied,
            created_by=ident.subject, created_at=clock.now())
        s.add(evaluation)
        return evaluation

    return create_once(rt.db, tenant, find=existing, create=add)[0]


def get(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str) -> Evaluation:
    with rt.db.session(tenant) as s:
        return load(s, ident, tenant, evaluation_id)


def of_unit(rt: Runtime, *, ident: Identity, tenant: str, unit: UnitFact) -> list[Evaluation]:
    """A unit's evaluations, for whoever may read the unit's."""
    authorize(ident, tenant, domain.READ, location=unit.location, org=unit.uscc)
    with rt.db.session(tenant) as s:
        return list(store.of_unit(session=s, unit_id=unit.id))


def of_engagement(rt: Runtime, *, ident: Identity, tenant: str,
                  engagement_id: str) -> list[Evaluation]:
    """The evaluation done under an engagement, for whoever may read it."""
    authorize(ident, tenant, (*domain.READ, "institution"))
    with rt.db.session(tenant) as s:
        evaluation = store.by_engagement(session=s, engagement_id=engagement_id)
        if evaluation is None:
            return []
        authorize_on(ident, tenant, evaluation, write=False)
        return [evaluation]


def writable(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str) -> Evaluation:
    """The evaluation, if the caller may change it (checked again when it is changed)."""
    with rt.db.session(tenant) as s:
        evaluation = load(s, ident, tenant, evaluation_id)
    authorize_on(ident, tenant, evaluation, write=True)
    return evaluation


def set_values(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str,
               values: dict[str, dict], basic: dict[str, bool]) -> Evaluation:
    """Merge indicator values and basic-requirement declarations into a draft. Every value is
    checked against the pinned scheme (indicator, type, unit) before anything is kept."""
    with rt.db.session(tenant, write=True) as s:
        evaluation = draft(s, ident, tenant, evaluation_id)
        merged, declared = domain.merge_values(
            json.loads(evaluation.values_json), json.loads(evaluation.basic_json),
            values=values, basic=basic)
        # Scoring refuses a value the pinned scheme cannot take, before anything is kept.
        domain.score(get_scheme(evaluation.scheme_id, evaluation.scheme_version), merged, declared)
        evaluation.values_json = json.dumps(merged, ensure_ascii=False)
        evaluation.basic_json = json.dumps(declared)
        s.add(evaluation)
        return evaluation


def preview(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str,
            veto: VetoFact) -> tuple[Evaluation, dict[str, Any]]:
    """The score as the data stand now, every point explained, with the declarations the
    registry's veto check (``veto``, as of today) contradicts; nothing is stored. A submitted
    evaluation answers the score kept at submission, whatever ``veto`` says today (the servicer
    does not ask the registry for one: see ``domain.scored_live``)."""
    with rt.db.session(tenant) as s:
        evaluation = load(s, ident, tenant, evaluation_id)
    if not domain.scored_live(status=evaluation.status):
        return evaluation, json.loads(evaluation.result_json)
    return evaluation, scored_now(evaluation, veto)


def scored_now(evaluation: Evaluation, veto: VetoFact) -> dict[str, Any]:
    """A draft's score as its data stand, with the declarations ``veto`` contradicts (no I/O:
    the servicer scores the evaluation it read to ask the registry, not a second read of it)."""
    found = domain.contradictions(json.loads(evaluation.basic_json), veto)
    return domain.scored(score_held(evaluation), found)


def score_held(evaluation: Evaluation) -> scoring.Result:
    """The evaluation's data scored under the version it is pinned to."""
    return domain.score(get_scheme(evaluation.scheme_id, evaluation.scheme_version),
                        json.loads(evaluation.values_json), json.loads(evaluation.basic_json),
                        level=evaluation.level)
