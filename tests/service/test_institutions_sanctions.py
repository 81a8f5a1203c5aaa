"""Institutions use cases in-process: sanctions (处罚) — a warning, a period of 不采信, a removal
(除名). A province sanctions only in its own province, only institutions filed with it, and never
removes; the ministry removes. The clock is frozen on 2025-10-11."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from generated.events.v1 import events_pb2 as ev
from services.institutions import handlers
from services.kernel.errors import Kind
from services.kernel.identity import Identity
from tests.service.conftest import UseCases
from tests.service.institutions_world import (
    JIANGSU,
    JS,
    MINISTRY,
    NANJING,
    N,
    ZHEJIANG,
    ZJ,
    refused,
    verified,
)


def sanction(uc: UseCases, as_: Identity, tenant: str, code: str, kind: str, **fields: Any) -> Any:
    return uc(handlers.sanction, as_=as_, tenant=tenant, uscc=code, kind=kind,
              **{"reason": "报告数据失实", "decision": "决定〔2025〕1号", "starts_on": "",
                 "ends_on": "", **fields})


def test_a_warning_is_recorded_and_leaves_reports_accepted(institutions: UseCases) -> None:
    code = verified(institutions).uscc
    institutions.recorded(N)
    row = sanction(institutions, MINISTRY, N, code, "warning")
    assert (row.kind, row.scope, row.starts_on, row.ends_on) == ("warning", N, date(2025, 10, 11),
                                                                 None)
    (event,) = institutions.recorded(N)
    assert isinstance(event.body, ev.InstitutionSanctioned)
    assert (event.body.kind, event.body.scope, event.body.ends_on) == ("warning", N, "")
    assert event.envelope.reason == "报告数据失实"
    entry, = [e for e in handlers.directory(institutions.rt, province="", category="")
              if e["uscc"] == code]
    assert entry["reports_accepted"]


def test_not_accepted_runs_for_its_period_in_its_province_only(institutions: UseCases) -> None:
    code = verified(institutions, provinces=(JS, ZJ)).uscc
    institutions.recorded(N)
    row = sanction(institutions, JIANGSU, JS, code, "not_accepted", ends_on="2026-06-30")
    assert (row.scope, row.ends_on) == (JS, date(2026, 6, 30))
    (event,) = institutions.recorded(N)                       # the province's act, nationally
    assert (event.body.scope, event.body.ends_on) == (JS, "2026-06-30")
    resent = sanction(institutions, JIANGSU, JS, code, "not_accepted", ends_on="2026-06-30")
    assert resent.id == row.id and institutions.recorded(N) == []   # one decision, one sanction
    view = institutions(handlers.get, as_=ZHEJIANG, tenant=ZJ, uscc=code)
    assert [x.id for x in view["sanctions"]] == [row.id]
    # Jiangsu's 不采信 stops engagements in Jiangsu, not in Zhejiang (directory: national view).
    entry, = [e for e in handlers.directory(institutions.rt, province="", category="")
              if e["uscc"] == code]
    assert entry["reports_accepted"]


@pytest.mark.parametrize("ends_on,problem", [("", "period"), ("2025-10-10", "period"),
                                             ("2028-10-12", "too_long")])
def test_a_not_accepted_period_is_checked(institutions: UseCases, ends_on: str,
                                          problem: str) -> None:
    code = verified(institutions).uscc
    err = refused(sanction, institutions, JIANGSU, JS, code, "not_accepted", ends_on=ends_on)
    assert (err.code, err.kind, err.params) == ("sanction.period", Kind.INVALID,
                                                {"problem": problem, "max_days": 1095})


def test_a_province_never_removes_and_sanctions_only_what_is_filed_with_it(
        institutions: UseCases) -> None:
    code = verified(institutions, provinces=(JS,)).uscc
    err = refused(sanction, institutions, JIANGSU, JS, code, "removal")
    assert (err.code, err.kind, err.params) == ("sanction.not_yours", Kind.FORBIDDEN,
                                                {"value": "removal",
                                                 "allowed": "warning/not_accepted"})
    err = refused(sanction, institutions, ZHEJIANG, ZJ, code, "warning")
    assert (err.code, err.kind, err.params) == ("institution.not_found", Kind.NOT_FOUND,
                                                {"uscc": code})
    err = refused(sanction, institutions, NANJING, JS, code, "warning")
    assert err.code == "auth.forbidden_role"
    err = refused(sanction, institutions, MINISTRY, JS, code, "warning")   # reads there only
    assert err.code == "auth.forbidden_role"


@pytest.mark.parametrize("kind,fields,code,params", [
    ("prison", {}, "sanction.kind", {"value": "prison",
                                     "allowed": "warning/not_accepted/removal"}),
    ("warning", {"reason": " "}, "field.required", {"field": "reason"}),
    ("warning", {"decision": ""}, "field.required", {"field": "decision"}),
])
def test_a_malformed_sanction_is_refused(institutions: UseCases, kind: str,
                                         fields: dict[str, Any], code: str,
                                         params: dict[str, Any]) -> None:
    inst = verified(institutions).uscc
    err = refused(sanction, institutions, MINISTRY, N, inst, kind, **fields)
    assert (err.code, err.kind, err.params) == (code, Kind.INVALID, params)


def test_a_removal_takes_the_institution_out_of_the_directory(institutions: UseCases) -> None:
    code = verified(institutions, provinces=(JS,)).uscc
    assert code in {e["uscc"] for e in handlers.directory(institutions.rt, province="",
                                                         category="")}
    row = sanction(institutions, MINISTRY, N, code, "removal")
    assert (row.kind, row.ends_on) == ("removal", None)
    assert institutions(handlers.get, as_=MINISTRY, tenant=N, uscc=code)["institution"].status == (
        "removed")
    assert code not in {e["uscc"] for e in handlers.directory(institutions.rt, province="",
                                                             category="")}
    record = handlers.track_record(institutions.rt, uscc=code)   # its record stays public
    assert [x.kind for x in record["sanctions"]] == ["removal"]
    assert not record["institution"]["reports_accepted"]
