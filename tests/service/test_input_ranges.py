"""Integers the services take are checked against the domain's range before they reach a query
or a date: a year filter is 0 ("this year") or 1949–2199, a scheme version 1–9999 (0: the
latest). Each is a 422 (``number.out_of_range``) naming the field and the range, whoever calls.

On today's main ``ListWorkReports(year=10000)`` raised ValueError building the due day (500), and
the other values went on to a query or a lookup."""

from __future__ import annotations

import pytest

from services.evaluation import handlers as evaluation_handlers
from services.institutions import handlers as institution_handlers
from services.kernel.errors import DomainError, Kind
from tests.service.conftest import UseCases
from tests.service.evaluation_world import JIANGSU as PROVINCE, OWNER, T, UNIT, start
from tests.service.institutions_world import JIANGSU, JS, MINISTRY, N


def _out_of_range(uc: UseCases, fn, field: str, **kwargs) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as err:
        uc(fn, **kwargs)
    assert err.value.code == "number.out_of_range" and err.value.kind is Kind.INVALID
    assert err.value.params["field"] == field
    assert field in err.value.message("en") and "allowed" in err.value.message("en")
    return err.value


@pytest.mark.parametrize("year", [10000, 2**31 - 1, -1, 1948, 2200])
def test_a_year_filter_outside_the_platforms_years_is_refused(institutions: UseCases,
                                                               year: int) -> None:
    _out_of_range(institutions, institution_handlers.list_work_reports, "year", as_=MINISTRY,
                  tenant=N, uscc="", year=year)
    _out_of_range(institutions, institution_handlers.list_engagements, "year", as_=JIANGSU,
                  tenant=JS, institution_uscc="", unit_id="", year=year)
    _out_of_range(institutions, institution_handlers.cap_usage, "year", as_=MINISTRY, tenant=N,
                  uscc="x", year=year)
    reports, _, due = institutions(institution_handlers.list_work_reports, as_=MINISTRY, tenant=N,
                                   uscc="", year=0)
    assert reports == [] and due is None


def test_a_scheme_version_outside_its_range_is_refused(evaluation: UseCases) -> None:
    for version in (-1, 10000, 2**31 - 1):
        refusal = _out_of_range(evaluation, evaluation_handlers.create, "scheme_version",
                                as_=OWNER, tenant=T, unit=UNIT, scheme_id="gbt36132-2025",
                                scheme_version=version, request_id="r", assisted_by="")
        assert refusal.params["max"] == 9999
    assert start(evaluation).scheme_version == 1  # 0: the latest
    _out_of_range(evaluation, evaluation_handlers.rescore, "to_version", as_=PROVINCE, tenant=T,
                  scheme_id="gbt36132-2025", to_version=0, unit_ids=[])
