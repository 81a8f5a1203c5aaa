"""Bulk imports are per-row atomic and complete: every row is processed and answered; a row that
fails for any reason — a rule, a NUL in a cell, a database error — is refused with its reason and
nothing of it is written, and the rows after it are still applied.

On today's main a NUL in a cell reached the database (PostgreSQL: an unhandled DataError, so a
500 with the rows before committed and those after never processed; SQLite: stored), and any
error that is not a refusal aborted the whole import the same way."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from generated.events.v1 import events_pb2 as ev
from services.kernel.runtime import Runtime
from services.registry import handlers
from tests.helpers import uscc
from tests.service.conftest import UseCases
from tests.service.test_registry_units import JIANGSU, _register


def _units(registry: UseCases, code: str) -> list[Any]:
    units, _ = registry(handlers.find_units, as_=JIANGSU, tenant="320000", uscc=code)
    return units


def test_a_units_row_with_a_nul_is_refused_and_the_rows_around_it_are_written(
        registry: UseCases) -> None:
    first, nul, third = uscc("320100"), uscc("320100"), uscc("320100")
    rows = ["kind,uscc,name,location,industry",
            f"factory,{first},一厂,320102,3311",
            f"factory,{nul},坏\u0000名,320102,3311",
            f"factory,{third},三厂,320102,3311"]
    result = registry(handlers.import_units, as_=JIANGSU, tenant="320000",
                      content="\n".join(rows).encode(), fmt="csv", lang="en")
    assert [(r["row"], r["accepted"], r.get("code")) for r in result] == [
        (1, True, None), (2, False, "text.nul"), (3, True, None)]
    assert result[1]["message"].startswith("name contains a NUL")
    assert _units(registry, nul) == [] and len(_units(registry, third)) == 1
    assert [type(e.body) for e in registry.recorded("320000")] == [ev.UnitRegistered] * 2


def test_a_database_error_refuses_its_row_only_and_writes_nothing_of_it(
        registry: UseCases, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    first, failing, third = uscc("320100"), uscc("320100"), uscc("320100")
    record = Runtime.record

    def flaky(self: Runtime, session: Any, body: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(body, ev.UnitRegistered) and body.uscc == failing:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return record(self, session, body, *args, **kwargs)

    monkeypatch.setattr(Runtime, "record", flaky)
    rows = ["kind,uscc,name,location,industry", f"factory,{first},一厂,320102,3311",
            f"factory,{failing},二厂,320102,3311", f"factory,{third},三厂,320102,3311"]
    result = registry(handlers.import_units, as_=JIANGSU, tenant="320000",
                      content="\n".join(rows).encode(), fmt="csv", lang="zh")
    assert [(r["accepted"], r.get("code")) for r in result] == [
        (True, None), (False, "import.row_failed"), (True, None)]
    assert "Exception" in result[1]["message"] and "disk" not in result[1]["message"]
    assert any("import row 2 failed" in r.getMessage() and r.exc_info for r in caplog.records)
    assert _units(registry, failing) == []  # the unit row and its history rolled back with it
    assert [e.body.uscc for e in registry.recorded("320000")] == [first, third]


def test_a_credit_row_failing_on_its_second_site_writes_nothing_on_the_first(
        registry: UseCases, monkeypatch: pytest.MonkeyPatch) -> None:
    code = uscc("320100")
    one, two = _register(registry, uscc=code, site="一厂区"), _register(registry, uscc=code,
                                                                       site="二厂区")
    other = _register(registry)
    registry.recorded("320000")
    record = Runtime.record

    def flaky(self: Runtime, session: Any, body: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(body, ev.ComplianceRecorded) and body.unit_id == two.id:
            raise OperationalError("INSERT", {}, Exception("deadlock"))
        return record(self, session, body, *args, **kwargs)

    monkeypatch.setattr(Runtime, "record", flaky)
    rows = ["uscc,kind,occurred_on,description",
            f"{other.uscc},tax_violation,2025-08-01,",
            f"{code},tax_violation,2025-08-01,",
            f"{other.uscc},tax_violation,2025-08-02,x\u0000y",
            f"{other.uscc},tax_violation,2025-08-03,"]
    result = registry(handlers.import_compliance, as_=JIANGSU, tenant="320000",
                      content="\n".join(rows).encode(), fmt="csv", lang="en")
    assert [(r["accepted"], r.get("code")) for r in result] == [
        (True, None), (False, "import.row_failed"), (False, "text.nul"), (True, None)]
    for unit in (one, two):
        assert registry(handlers.list_compliance, as_=JIANGSU, tenant="320000",
                        unit_id=unit.id) == []
    assert [e.body.unit_id for e in registry.recorded("320000")] == [other.id, other.id]
