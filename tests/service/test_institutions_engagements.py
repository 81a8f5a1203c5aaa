"""Institutions use cases in-process: engagements (委托) — every refusal in its order, the
national cap of 15 per legal representative and year (Art. 20), retries, cancelling, acting
under an engagement, and who sees one."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pytest

from generated.events.v1 import events_pb2 as ev
from services.institutions import handlers
from services.institutions.domain import UnitFact
from services.institutions.store import Engagement, Institution
from services.kernel.errors import Kind
from services.kernel.identity import Grant, Identity
from tests.helpers import uscc
from tests.service.conftest import UseCases
from tests.service.institutions_world import (
    JIANGSU,
    JS,
    MINISTRY,
    NANJING,
    SUZHOU,
    N,
    ZHEJIANG,
    ZJ,
    institution,
    refused,
    register,
    verified,
)

_ids = itertools.count(1)


def unit(**fields: Any) -> UnitFact:
    """A Nanjing factory as the registry tells it, ownership declared."""
    n = next(_ids)
    return replace(UnitFact(id=f"unit-{n}", uscc=uscc("320100"), site=f"厂区{n}", name="南京示例厂",
                            kind="factory", location="320102", city="320100", tenant=JS,
                            industry="3971", parent_uscc="", legal_rep_key=f"k-unit-{n}",
                            ownership_declared=True), **fields)


def owner(u: UnitFact) -> Identity:
    return Identity(subject=f"ent-{u.uscc}", grants=(Grant("enterprise", u.tenant, org=u.uscc),))


def engage(uc: UseCases, u: UnitFact, code: str, *, level: str = "national",
           request_id: str = "", assisted_by: Iterable[str] = ()) -> Engagement:
    return uc(handlers.engage, as_=owner(u), tenant=u.tenant, unit=u, institution_uscc=code,
              level=level, request_id=request_id or f"req-{u.id}-{code}",
              assisted_by=assisted_by)


def used(uc: UseCases, code: str) -> int:
    return uc(handlers.cap_usage, as_=MINISTRY, tenant=N, uscc=code, year=0)["used"]


def test_an_engagement_is_accepted_and_recorded_nationally(institutions: UseCases) -> None:
    code = verified(institutions).uscc
    institutions.recorded(N)
    u = unit()
    e = engage(institutions, u, code)
    assert (e.status, e.level, e.unit_tenant, e.year, e.counted) == (
        "accepted", "national", JS, 2025, True)
    assert "legal_rep_key" not in e.unit_json and u.id in e.unit_json
    (event,) = institutions.recorded(N)
    assert isinstance(event.body, ev.EngagementAccepted)
    assert (event.body.engagement_id, event.body.cap_used) == (e.id, 1)
    provincial = engage(institutions, unit(), code, level="provincial")
    assert not provincial.counted and used(institutions, code) == 1   # national projects only


@pytest.mark.parametrize("fields,code,params", [
    ({"level": "county"}, "engagement.level",
     {"value": "county", "allowed": "national/provincial/municipal"}),
    ({"request_id": " "}, "field.required", {"field": "request_id"}),
    ({"institution_uscc": ""}, "field.required", {"field": "institution_uscc"}),
])
def test_a_malformed_request_is_refused(institutions: UseCases, fields: dict[str, Any],
                                        code: str, params: dict[str, Any]) -> None:
    inst = verified(institutions).uscc
    u = unit()
    kwargs: dict[str, Any] = {"unit": u, "institution_uscc": inst, "level": "national",
                              "request_id": "r1", "assisted_by": (), **fields}
    err = refused(institutions, handlers.engage, as_=owner(u), tenant=JS, **kwargs)
    assert (err.code, err.kind, err.params) == (code, Kind.INVALID, params)


def test_only_the_units_enterprise_engages_after_declaring_ownership(
        institutions: UseCases) -> None:
    code = verified(institutions).uscc
    u = unit(ownership_declared=False)
    err = refused(engage, institutions, u, code)
    assert (err.code, err.kind, err.params) == (
        "engagement.ownership_undeclared", Kind.PRECONDITION, {"unit_id": u.id})
    other = unit()
    err = refused(institutions, handlers.engage, as_=owner(other), tenant=JS, unit=unit(),
                  institution_uscc=code, level="national", request_id="r", assisted_by=())
    assert err.code == "auth.not_your_unit"
    err = refused(institutions, handlers.engage, as_=JIANGSU, tenant=JS, unit=u,
                  institution_uscc=code, level="national", request_id="r", assisted_by=())
    assert err.code == "auth.forbidden_role"


def test_an_unverified_or_unfiled_institution_is_refused(institutions: UseCases) -> None:
    unverified = register(institutions, uscc("110108")).uscc
    err = refused(engage, institutions, unit(), unverified)
    assert (err.code, err.kind, err.params) == (
        "institution.not_verified", Kind.PRECONDITION, {"uscc": unverified, "status": "unverified"})
    only_js = verified(institutions, provinces=(JS,)).uscc
    zj_unit = unit(tenant=ZJ, location="330106", city="330100")
    err = refused(engage, institutions, zj_unit, only_js)
    assert (err.code, err.params) == ("engagement.not_filed", {"uscc": only_js, "province": ZJ})
    institutions(handlers.file, as_=ZHEJIANG, tenant=ZJ, uscc=only_js, reason="")
    assert engage(institutions, zj_unit, only_js).unit_tenant == ZJ
    institutions(handlers.revoke_filing, as_=JIANGSU, tenant=JS, uscc=only_js, reason="停止")
    err = refused(engage, institutions, unit(), only_js)
    assert err.code == "engagement.not_filed"
    err = refused(engage, institutions, unit(), uscc("110108"))
    assert (err.code, err.kind) == ("institution.not_found", Kind.NOT_FOUND)


def test_a_sanctioned_institution_is_refused_where_its_reports_are_not_accepted(
        institutions: UseCases) -> None:
    code = verified(institutions, provinces=(JS, ZJ)).uscc
    institutions(handlers.sanction, as_=JIANGSU, tenant=JS, uscc=code, kind="not_accepted",
                 reason="报告数据失实", decision="苏工信节〔2025〕1号", starts_on="",
                 ends_on="2026-06-30")
    err = refused(engage, institutions, unit(), code)
    assert (err.code, err.kind, err.params) == ("engagement.sanctioned", Kind.PRECONDITION,
                                                {"uscc": code})
    zj_unit = unit(tenant=ZJ, location="330106", city="330100")
    assert engage(institutions, zj_unit, code).status == "accepted"   # Jiangsu's sanction only


def test_a_unit_outside_the_scope_or_industries_is_refused(institutions: UseCases) -> None:
    code = verified(institutions, scope_categories=["factory"], scope_industries=["39"]).uscc
    err = refused(engage, institutions, unit(kind="park"), code)
    assert (err.code, err.params) == ("engagement.out_of_scope", {"uscc": code, "category": "park"})
    err = refused(engage, institutions, unit(industry="2611"), code)
    assert (err.code, err.params) == ("engagement.out_of_industry",
                                      {"uscc": code, "division": "26"})
    assert engage(institutions, unit(industry=""), code).status == "accepted"


def test_an_institution_that_helped_write_the_self_evaluation_is_refused(
        institutions: UseCases) -> None:
    code = verified(institutions).uscc
    err = refused(engage, institutions, unit(), code, assisted_by={code})
    assert (err.code, err.kind, err.params) == (
        "engagement.wrote_self_evaluation", Kind.CONFLICT, {"institution": code})
    assert engage(institutions, unit(), code, assisted_by={uscc("110108")}).status == "accepted"


def _filed(uc: UseCases, code: str, rep: int, **fields: Any) -> str:
    """The institution ``code``, registered, verified and filed in Jiangsu."""
    register(uc, code, rep, **fields)
    uc(handlers.verify, as_=MINISTRY, tenant=N, uscc=code)
    uc(handlers.file, as_=JIANGSU, tenant=JS, uscc=code, reason="备案")
    return code


@pytest.mark.parametrize("relation", ["legal_rep", "same_parent", "parent", "subsidiary"])
def test_one_party_with_the_institution_that_helped_write_the_self_evaluation_is_refused(
        institutions: UseCases, relation: str) -> None:
    """Institutions sharing a legal representative or a parent company are one party: when one
    of them helped write the unit's self-evaluation, none of them may be engaged for it."""
    group = uscc("110000")
    helper = _filed(institutions, uscc("110108"), 70, parent_uscc=group)
    sibling = {"legal_rep": lambda: _filed(institutions, uscc("110108"), 70),
               "same_parent": lambda: _filed(institutions, uscc("110108"), 71, parent_uscc=group),
               "parent": lambda: _filed(institutions, group, 72),
               "subsidiary": lambda: _filed(institutions, uscc("110108"), 73, parent_uscc=helper),
               }[relation]()
    err = refused(engage, institutions, unit(), sibling, assisted_by={helper})
    assert (err.code, err.kind, err.params) == ("engagement.party_wrote_self_evaluation",
                                                Kind.CONFLICT,
                                                {"institution": sibling, "helper": helper})
    # A helper that is not one party with it does not stop it.
    stranger = _filed(institutions, uscc("110108"), 74)
    e = engage(institutions, unit(), sibling, assisted_by={stranger})
    assert e.status == "accepted"
    # The party the evaluation service checks again at create and submit.
    _, _, _, party = institutions(handlers.check_engagement, as_=institution(sibling),
                                  tenant=JS, engagement_id=e.id, unit_id="")
    assert {helper, sibling} <= set(party) and stranger not in party


def _related(inst: Institution, case: str) -> UnitFact:
    if case == "self":
        return unit(uscc=inst.uscc)
    if case == "legal_rep":
        return unit(legal_rep_key=inst.legal_rep_key)
    if case == "unit_owned_by_institution":
        return unit(parent_uscc=inst.uscc)
    if case == "institution_owned_by_unit":
        return unit(uscc=inst.parent_uscc)
    if case == "same_parent":
        return unit(parent_uscc=inst.parent_uscc)
    return unit(uscc=EMPLOYER)


PARENT, EMPLOYER = uscc("110000"), uscc("320100")


@pytest.mark.parametrize("case,code,params", [
    ("self", "engagement.related_self", {}),
    ("legal_rep", "engagement.related_legal_rep", {}),
    ("unit_owned_by_institution", "engagement.related_group", "inst"),
    ("institution_owned_by_unit", "engagement.related_group", {"parent": PARENT}),
    ("same_parent", "engagement.related_group", {"parent": PARENT}),
    ("employs_an_evaluator", "engagement.related_employs", {"count": 1}),
])
def test_each_related_party_is_refused(institutions: UseCases, case: str, code: str,
                                       params: Any) -> None:
    staff = [{"name": f"s{i}", "title": "senior", "full_time": True,
              "also_employed_by": [EMPLOYER] if i == 0 else []} for i in range(10)]
    inst = verified(institutions, parent_uscc=PARENT, staff=staff)
    err = refused(engage, institutions, _related(inst, case), inst.uscc)
    expected = {"parent": inst.uscc} if params == "inst" else params
    assert (err.code, err.kind, err.params) == (code, Kind.CONFLICT, expected)
    assert institutions(handlers.list_engagements, as_=MINISTRY, tenant=N,
                        institution_uscc=inst.uscc, unit_id="", year=0) == []


def test_one_accepted_engagement_per_unit_and_institution(institutions: UseCases) -> None:
    code = verified(institutions).uscc
    u = unit()
    first = engage(institutions, u, code, request_id="a")
    err = refused(engage, institutions, u, code, request_id="b")
    assert (err.code, err.kind, err.params) == ("engagement.already_active", Kind.CONFLICT,
                                                {"uscc": code, "unit_id": u.id})
    institutions(handlers.cancel, as_=owner(u), tenant=JS, engagement_id=first.id,
                 reason="改期", submitted=False)
    assert engage(institutions, u, code, request_id="c").id != first.id


def test_the_cap_of_fifteen_is_the_legal_representatives_across_its_institutions(
        institutions: UseCases) -> None:
    first = verified(institutions, rep=60).uscc
    sibling = verified(institutions, rep=60).uscc        # same legal representative
    units = [unit() for _ in range(18)]
    taken = [engage(institutions, units[i], first, request_id=f"cap-{i}") for i in range(15)]
    events = institutions.recorded(N)
    assert [e.body.cap_used for e in events if isinstance(e.body, ev.EngagementAccepted)] == list(
        range(1, 16))
    err = refused(engage, institutions, units[15], first, request_id="cap-15")
    assert (err.code, err.kind, err.params) == ("engagement.cap_reached", Kind.CONFLICT,
                                                {"used": 15, "cap": 15, "year": 2025})
    err = refused(engage, institutions, units[16], sibling, request_id="cap-sibling")
    assert err.code == "engagement.cap_reached"
    usage = institutions(handlers.cap_usage, as_=MINISTRY, tenant=N, uscc=sibling, year=0)
    assert (usage["used"], usage["cap"], set(usage["institutions"])) == (15, 15, {first, sibling})
    own = institutions(handlers.cap_usage, as_=institution(first), tenant=N, uscc=first, year=0)
    assert (own["used"], own["institutions"]) == (15, [first])   # the count, not the sibling
    # A retry with the same request id returns the first engagement and takes no second place.
    assert engage(institutions, units[0], first, request_id="cap-0").id == taken[0].id
    assert used(institutions, first) == 15
    # A municipal engagement takes no place under the cap.
    assert engage(institutions, units[15], first, level="municipal").status == "accepted"
    # Cancelling releases its place once, however often it is sent.
    for _ in range(2):
        cancelled = institutions(handlers.cancel, as_=owner(units[0]), tenant=JS,
                                 engagement_id=taken[0].id, reason="改期", submitted=False)
        assert cancelled.status == "cancelled"
    assert used(institutions, first) == 14
    assert engage(institutions, units[16], sibling, request_id="after-cancel").status == "accepted"
    err = refused(engage, institutions, units[17], first, request_id="cap-17")
    assert err.code == "engagement.cap_reached"


def test_cancelling_stops_once_the_evaluation_is_submitted(institutions: UseCases) -> None:
    code = verified(institutions).uscc
    u = unit()
    e = engage(institutions, u, code)
    institutions.recorded(N)
    err = refused(institutions, handlers.cancel, as_=owner(u), tenant=JS, engagement_id=e.id,
                  reason=" ", submitted=False)
    assert (err.code, err.params) == ("field.required", {"field": "reason"})
    err = refused(institutions, handlers.cancel, as_=owner(u), tenant=JS, engagement_id=e.id,
                  reason="改选", submitted=True)
    assert (err.code, err.kind, err.params) == ("engagement.not_cancellable", Kind.PRECONDITION,
                                                {"engagement_id": e.id, "status": "submitted"})
    err = refused(institutions, handlers.cancel, as_=NANJING, tenant=JS, engagement_id=e.id,
                  reason="x", submitted=False)
    assert (err.code, err.kind) == ("auth.not_your_unit", Kind.FORBIDDEN)   # a city only reads
    assert institutions.recorded(N) == []
    cancelled = institutions(handlers.cancel, as_=institution(code), tenant=JS,
                             engagement_id=e.id, reason="机构撤回", submitted=False)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "机构撤回")
    (event,) = institutions.recorded(N)
    assert isinstance(event.body, ev.EngagementCancelled) and event.body.reason == "机构撤回"
    assert event.envelope.reason == "机构撤回"


def test_the_institution_acts_only_under_its_accepted_engagement(institutions: UseCases) -> None:
    code = verified(institutions).uscc
    u = unit()
    e = engage(institutions, u, code)
    found, accepted, inst, party = institutions(handlers.check_engagement, as_=institution(code),
                                                tenant=JS, engagement_id=e.id, unit_id="")
    assert (found.id, accepted, inst.uscc, party) == (e.id, True, code, (code,))
    by_unit, _, _, _ = institutions(handlers.check_engagement, as_=institution(code), tenant=JS,
                                 engagement_id="", unit_id=u.id)
    assert by_unit.id == e.id
    for ident, tenant in ((institution(uscc("110108")), JS), (institution(code), ZJ)):
        err = refused(institutions, handlers.check_engagement, as_=ident, tenant=tenant,
                      engagement_id=e.id, unit_id="")
        assert (err.code, err.kind) == ("engagement.not_found", Kind.NOT_FOUND)
    err = refused(institutions, handlers.check_engagement, as_=JIANGSU, tenant=JS,
                  engagement_id=e.id, unit_id="")
    assert err.code == "auth.forbidden_role"
    institutions(handlers.sanction, as_=JIANGSU, tenant=JS, uscc=code, kind="not_accepted",
                 reason="r", decision="d", starts_on="", ends_on="2026-01-31")
    _, accepted, _, _ = institutions(handlers.check_engagement, as_=institution(code),
                                     tenant=JS, engagement_id=e.id, unit_id="")
    assert not accepted                                   # its reports are not accepted here now
    institutions(handlers.cancel, as_=owner(u), tenant=JS, engagement_id=e.id, reason="x",
                 submitted=False)
    err = refused(institutions, handlers.check_engagement, as_=institution(code), tenant=JS,
                  engagement_id=e.id, unit_id="")
    assert (err.code, err.params) == ("engagement.not_active",
                                      {"engagement_id": e.id, "status": "cancelled"})


def test_who_sees_which_engagement(institutions: UseCases) -> None:
    code = verified(institutions).uscc
    u = unit()
    e = engage(institutions, u, code, level="municipal")
    for ident, tenant in ((JIANGSU, JS), (NANJING, JS), (owner(u), JS), (MINISTRY, N),
                          (MINISTRY, JS), (institution(code), N)):
        assert institutions(handlers.get_engagement, as_=ident, tenant=tenant,
                            engagement_id=e.id).id == e.id
    err = refused(institutions, handlers.get_engagement, as_=SUZHOU, tenant=JS, engagement_id=e.id)
    assert (err.code, err.kind) == ("auth.not_your_unit", Kind.FORBIDDEN)   # another city
    err = refused(institutions, handlers.get_engagement, as_=ZHEJIANG, tenant=ZJ,
                  engagement_id=e.id)
    assert (err.code, err.kind) == ("engagement.not_found", Kind.NOT_FOUND)
    err = refused(institutions, handlers.get_engagement, as_=ZHEJIANG, tenant=JS,
                  engagement_id=e.id)
    assert err.kind == Kind.FORBIDDEN                                        # not its tenant
    err = refused(institutions, handlers.get_engagement, as_=institution(uscc("110108")),
                  tenant=N, engagement_id=e.id)
    assert err.code == "auth.not_your_unit"

    def listed(ident: Identity, tenant: str) -> set[str]:
        return {x.id for x in institutions(handlers.list_engagements, as_=ident, tenant=tenant,
                                           institution_uscc="", unit_id="", year=0)}

    for ident, tenant in ((JIANGSU, JS), (NANJING, JS), (MINISTRY, N), (institution(code), N),
                          (owner(u), JS)):
        assert e.id in listed(ident, tenant), ident.subject
    for ident, tenant in ((SUZHOU, JS), (ZHEJIANG, ZJ), (owner(unit()), JS),
                          (institution(uscc("110108")), N)):
        assert e.id not in listed(ident, tenant), ident.subject
