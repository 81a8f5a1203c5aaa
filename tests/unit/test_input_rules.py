"""The kernel's input rules every service shares: no NUL in a caller's text, integers in their
range (years 1949–2199, scheme versions 1–9999, 0 where it means "the default"), a NUL cell
refusing its import row, and an import row failing for any reason answered, not aborting the
import."""

from __future__ import annotations

import logging

import pytest

from generated.institutions.v1 import institutions_pb2 as ipb
from generated.registry.v1 import registry_pb2 as pb
from services.kernel import bulk
from services.kernel.errors import (
    DomainError,
    Kind,
    nul_refusal,
    range_refusal,
    year_refusal,
)
from services.kernel.rpc import text_refusal


def test_nul_is_refused_naming_the_field() -> None:
    assert nul_refusal("plain 文本", "name") is None
    refusal = nul_refusal("a\x00b", "name")
    assert refusal is not None and refusal.kind is Kind.INVALID
    assert refusal.code == "text.nul" and refusal.params == {"field": "name"}
    assert "name" in refusal.error().message("en") and "空字符" in refusal.error().message("zh")


def test_ranges_and_years() -> None:
    assert range_refusal(5, "n", 1, 9) is None and range_refusal(0, "n", 1, 9,
                                                                 zero_means_default=True) is None
    refusal = range_refusal(10, "n", 1, 9)
    assert refusal is not None and refusal.params == {"field": "n", "value": 10, "min": 1, "max": 9}
    assert "1 to 9" in refusal.error().message("en")
    assert year_refusal(2025) is None and year_refusal(0, zero_means_default=True) is None
    for bad in (10000, 4164622746, -1, 1948, 2200):
        refusal = year_refusal(bad, zero_means_default=True)
        assert refusal is not None and refusal.code == "number.out_of_range"
    assert year_refusal(0) is not None


def test_every_string_of_a_request_is_checked_by_its_path() -> None:
    assert text_refusal(pb.RegisterUnitRequest(name="好", uscc="x")) is None
    assert text_refusal(pb.ImportRequest(content=b"a\x00b", format="csv")) is None  # bytes: data
    found = text_refusal(pb.SetSuppliersRequest(
        unit_id="u", suppliers=[pb.Supplier(name="a"), pb.Supplier(tenant="32\x00")]))
    assert found is not None and found.params == {"field": "suppliers[1].tenant"}
    found = text_refusal(ipb.InstitutionProfile(qualifications=["a", "\x00"]))
    assert found is not None and found.params == {"field": "qualifications[1]"}


def test_a_nul_cell_refuses_its_row_naming_the_column() -> None:
    rows = bulk.parse("kind,name\nfactory,a\x00b\nfactory,ok\n".encode(), "csv",
                      required={"kind", "name"})
    assert isinstance(rows[0], DomainError) and rows[0].code == "text.nul"
    assert rows[0].params == {"field": "name"} and rows[1] == {"kind": "factory", "name": "ok"}


def test_a_row_failing_for_any_reason_is_answered_and_the_rest_applied(
        caplog: pytest.LogCaptureFixture) -> None:
    applied: list[str] = []

    def apply(row: dict[str, str]) -> tuple[str, bool]:
        if row["n"] == "2":
            raise RuntimeError("connection reset")
        applied.append(row["n"])
        return row["n"], False

    rows: list[dict[str, str] | DomainError] = [{"n": "1"}, {"n": "2"}, {}, {"n": "4"}]
    with caplog.at_level(logging.ERROR, logger="greenladder.bulk"):
        result = bulk.each_row(rows, "en", apply)
    assert applied == ["1", "4"]
    assert [(r["row"], r["accepted"]) for r in result] == [(1, True), (2, False), (4, True)]
    assert result[1]["code"] == "import.row_failed" and "RuntimeError" in result[1]["message"]
    assert "connection reset" not in result[1]["message"]
    assert any(r.exc_info for r in caplog.records)
