"""Institutions use cases in-process: profiles and verification (SPEC §9), and who sees which
institution."""

from __future__ import annotations

from typing import Any

import pytest

from generated.events.v1 import events_pb2 as ev
from services.institutions import handlers
from services.kernel.errors import Kind
from services.kernel.identity import Grant, Identity
from tests.helpers import person_id, uscc
from tests.service.conftest import UseCases
from tests.service.institutions_world import (
    N,
    JS,
    ZJ,
    MINISTRY,
    JIANGSU,
    ZHEJIANG,
    NANJING,
    institution,
    profile,
    register,
    verified,
    refused,
)


# --- registering a profile ---------------------------------------------------------------------


def test_a_new_profile_is_unverified_and_recorded_nationally(institutions: UseCases) -> None:
    code = uscc("110108")
    inst, created = institutions(handlers.register, as_=institution(code), tenant=N,
                                 raw=profile(code))
    assert created and inst.status == "unverified" and inst.verified_at is None
    assert "*" in inst.legal_rep_masked and len(inst.legal_rep_key) == 64
    assert person_id(1) not in inst.profile_json               # the ID number is never kept
    (event,) = institutions.recorded(N)
    assert isinstance(event.body, ev.InstitutionRegistered)
    assert (event.body.uscc, event.body.created) == (code, True)
    again, created = institutions(handlers.register, as_=institution(code), tenant=N,
                                  raw=profile(code, contact="新电话"))
    assert not created and again.uscc == code


@pytest.mark.parametrize("fields,code,params", [
    ({"name": " "}, "field.required", {"field": "name"}),
    ({"legal_representative": ""}, "field.required", {"field": "legal_representative"}),
    ({"staff": [{"name": "a", "title": "chief", "full_time": True, "also_employed_by": []}]},
     "institution.staff_title", {"row": 1, "value": "chief", "allowed": "junior/intermediate/senior"}),
    ({"staff": [{"name": " ", "title": "senior", "full_time": True, "also_employed_by": []}]},
     "field.required", {"field": "staff[1].name"}),
    ({"experience": [{"year": 1900, "description": "x"}]},
     "institution.experience_year", {"value": 1900, "max": 2025}),
    ({"experience": [{"year": 2026, "description": "x"}]},
     "institution.experience_year", {"value": 2026, "max": 2025}),
    ({"scope_categories": []}, "institution.scope",
     {"value": "-", "allowed": "factory/park/supply_chain"}),
    ({"scope_categories": ["mine"]}, "institution.scope",
     {"value": "mine", "allowed": "factory/park/supply_chain"}),
    ({"scope_industries": ["3"]}, "institution.scope_industry", {"value": "3"}),
    ({"qualifications": ["q"] * 101}, "institution.too_many", {"limit": 1000}),
    ({"legal_rep_id": ""}, "field.required", {"field": "legal_rep_id"}),
    ({"name": "名" * 201}, "text.too_long", {"field": "name", "max": 200, "length": 201}),
])
def test_a_profile_is_refused_field_by_field(institutions: UseCases, fields: dict[str, Any],
                                             code: str, params: dict[str, Any]) -> None:
    err = refused(register, institutions, uscc("110108"), **fields)
    assert (err.code, err.kind, err.params) == (code, Kind.INVALID, params)
    assert institutions.recorded(N) == []


def test_the_registry_is_national_and_each_institution_writes_only_its_own(
        institutions: UseCases) -> None:
    code = uscc("110108")
    err = refused(institutions, handlers.register, as_=JIANGSU, tenant=JS, raw=profile(code))
    assert (err.code, err.params) == ("institution.national_only", {"tenant": JS})
    err = refused(register, institutions, code, as_=institution(uscc("110108")))
    assert (err.code, err.kind) == ("auth.not_your_unit", Kind.FORBIDDEN)
    err = refused(register, institutions, code, as_=JIANGSU)
    assert err.code == "auth.forbidden_role"
    err = refused(register, institutions, code[:-1] + ("0" if code[-1] != "0" else "1"))
    assert err.code.startswith("uscc.")


def test_a_new_legal_representative_or_parent_sends_it_back_to_the_ministry(
        institutions: UseCases) -> None:
    inst = verified(institutions, rep=1)
    code, key = inst.uscc, inst.legal_rep_key
    kept = register(institutions, code, rep=1, contact="新电话")      # same ID number
    assert kept.status == "verified"
    unchanged = register(institutions, code, legal_rep_id="")         # none sent: key kept
    assert (unchanged.status, unchanged.legal_rep_key) == ("verified", key)
    changed = register(institutions, code, rep=12)
    assert (changed.status, changed.verified_at) == ("unverified", None)
    assert changed.legal_rep_key != key
    institutions(handlers.verify, as_=MINISTRY, tenant=N, uscc=code)
    parent = register(institutions, code, rep=12, parent_uscc=uscc("110000"))
    assert parent.status == "unverified"


def test_a_removed_institution_cannot_come_back_by_updating(institutions: UseCases) -> None:
    inst = verified(institutions)
    institutions(handlers.sanction, as_=MINISTRY, tenant=N, uscc=inst.uscc, kind="removal",
                 reason="弄虚作假", decision="工信部〔2025〕1号", starts_on="", ends_on="")
    err = refused(register, institutions, inst.uscc)
    assert (err.code, err.params) == ("institution.removed", {"uscc": inst.uscc})
    err = refused(institutions, handlers.verify, as_=MINISTRY, tenant=N, uscc=inst.uscc)
    assert err.code == "institution.removed"


# --- verification (SPEC §9 staffing and experience) ---------------------------------------------


def _staff(senior: int, intermediate: int, part_time: int = 0) -> list[dict[str, Any]]:
    rows = ([("senior", True)] * senior + [("intermediate", True)] * intermediate
            + [("senior", False)] * part_time)
    return [{"name": f"s{i}", "title": t, "full_time": f, "also_employed_by": []}
            for i, (t, f) in enumerate(rows)]


@pytest.mark.parametrize("fields,code,params", [
    ({"staff": _staff(5, 4, part_time=3)}, "institution.rule_staff", {"have": 9, "need": 10}),
    ({"staff": _staff(4, 6)}, "institution.rule_senior",
     {"senior": 4, "qualified": 10, "share": "50"}),
    ({"experience": [{"year": 2020, "description": "太早"}]}, "institution.rule_experience",
     {"years": 5, "need": 1}),
])
def test_verification_needs_the_staffing_and_experience_rules(
        institutions: UseCases, fields: dict[str, Any], code: str, params: dict[str, Any]) -> None:
    inst = register(institutions, uscc("110108"), **fields)
    view = institutions(handlers.get, as_=MINISTRY, tenant=N, uscc=inst.uscc)
    assert [f.code for f in view["unmet"]] == [code]
    institutions.recorded(N)
    err = refused(institutions, handlers.verify, as_=MINISTRY, tenant=N, uscc=inst.uscc)
    assert (err.code, err.kind, err.params) == (code, Kind.PRECONDITION, params)
    assert institutions.recorded(N) == []


def test_verification_is_the_ministrys_and_happens_once(institutions: UseCases) -> None:
    code = register(institutions, uscc("110108")).uscc
    institutions.recorded(N)
    err = refused(institutions, handlers.verify, as_=institution(code), tenant=N, uscc=code)
    assert err.code == "auth.forbidden_role"
    first = institutions(handlers.verify, as_=MINISTRY, tenant=N, uscc=code)
    again = institutions(handlers.verify, as_=MINISTRY, tenant=N, uscc=code)
    assert first.status == again.status == "verified" and again.verified_at == first.verified_at
    assert [type(e.body) for e in institutions.recorded(N)] == [ev.InstitutionVerified]
    err = refused(institutions, handlers.verify, as_=MINISTRY, tenant=N, uscc=uscc("110108"))
    assert (err.code, err.kind) == ("institution.not_found", Kind.NOT_FOUND)


# --- who sees which institution -----------------------------------------------------------------


def test_who_sees_which_institution(institutions: UseCases) -> None:
    code = verified(institutions, provinces=(JS,)).uscc
    full = institutions(handlers.get, as_=JIANGSU, tenant=JS, uscc=code)
    assert len(full["profile"]["staff"]) == 10 and (full["qualified"], full["senior"]) == (10, 5)
    assert [f.province for f in full["filings"]] == [JS]
    city = institutions(handlers.get, as_=NANJING, tenant=JS, uscc=code)
    assert city["profile"]["staff"] == [] and city["qualified"] == 10   # counts, no names
    own = institutions(handlers.get, as_=institution(code), tenant=JS, uscc=code)
    assert len(own["profile"]["staff"]) == 10
    err = refused(institutions, handlers.get, as_=ZHEJIANG, tenant=ZJ, uscc=code)
    assert (err.code, err.kind) == ("institution.not_found", Kind.NOT_FOUND)
    err = refused(institutions, handlers.get, as_=institution(uscc("110108")), tenant=N,
                  uscc=code)
    assert (err.code, err.kind) == ("auth.not_your_unit", Kind.FORBIDDEN)
    assert code in {v["institution"].uscc for v in
                    institutions(handlers.list_institutions, as_=JIANGSU, tenant=JS)}
    assert code not in {v["institution"].uscc for v in
                        institutions(handlers.list_institutions, as_=ZHEJIANG, tenant=ZJ)}
    assert code in {v["institution"].uscc for v in
                    institutions(handlers.list_institutions, as_=MINISTRY, tenant=N)}
    rival = institutions(handlers.list_institutions, as_=institution(uscc("110108")), tenant=JS)
    assert rival == []                                   # an institution sees only itself
    enterprise = Identity("e", (Grant("enterprise", JS, org=uscc()),))
    err = refused(institutions, handlers.list_institutions, as_=enterprise, tenant=JS)
    assert (err.code, err.kind) == ("auth.forbidden_role", Kind.FORBIDDEN)
