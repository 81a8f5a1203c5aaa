"""The evaluation report: content, hash, HTML, PDF (SPEC §4, §13; services/evaluation/report.py)."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest

from services.evaluation.report import (
    ReportInput,
    amount,
    build_report,
    render_html,
    render_pdf,
    verify_hash,
)
from services.evaluation.schemes import get_scheme
from services.evaluation.scoring import Quantity, score
from services.kernel.errors import DomainError, Kind
from tests.unit.test_scoring import GBT2025_VALUES

D = Decimal
SCHEME = get_scheme("gbt36132-2025")
MET = {r.id: True for r in SCHEME.basic_requirements}
SHA = "ab" * 32


def make(**changes: Any) -> ReportInput:
    """A third-party report on the full GB/T 36132-2025 evaluation (platform total 71.22)."""
    values = changes.pop("values", GBT2025_VALUES)
    basic = changes.pop("basic", MET)
    inp = ReportInput(
        evaluation_id="ev-1", tenant="t_320000",
        unit={"id": "u-1", "uscc": "91320500MA1N2P3Q43", "name": "苏州示例电子有限公司",
              "kind": "factory", "location": "320500", "industry": "3971"},
        scheme=SCHEME, path="institution",
        institution={"uscc": "91110000MA0YYYYY0Y", "name": "某认证中心"},
        basic=basic,
        veto={"vetoed": False, "on": "2025-10-11", "conditions": []},
        result=score(SCHEME, values, basic=basic),
        evidence={"water_reuse": [{"sha256": SHA, "filename": "水平衡测试报告.pdf"}]},
        highlights="余热回收，光伏覆盖 40% 屋顶", preparer="张三", reviewer="李四", pledge=True,
        claimed_total=D("75.5"), submitted_at="2025-10-11T09:00:00+08:00",
    )
    return dataclasses.replace(inp, **changes)


def test_content_states_every_part_of_the_report() -> None:
    report = build_report(make())
    assert report["unit"]["name"] == "苏州示例电子有限公司"
    assert report["scheme"] == {"id": "gbt36132-2025", "version": 1,
                                "title_zh": SCHEME.title_zh, "title_en": SCHEME.title_en}
    assert report["path"] == "institution" and report["institution"]["name"] == "某认证中心"
    assert [r["met"] for r in report["basic_requirements"]] == [True] * 4
    assert report["veto"] == {"vetoed": False, "on": "2025-10-11", "conditions": []}
    assert [(c["id"], c["points"], c["max"]) for c in report["categories"]][0] == (
        "energy_low_carbon", "23.08", "30.00")
    assert (report["total"], report["pass_mark"], report["passed"]) == ("71.22", "60.00", True)
    assert report["conclusion"] == "passed"
    water = next(i for i in report["indicators"] if i["id"] == "water_reuse")
    assert water["value"] == "92.00" and water["unit"] == "%"
    assert (water["baseline"], water["leading"], water["points"], water["max"]) == (
        "85.00", "95.00", "4.90", "7.00")
    assert water["evidence"] == [{"sha256": SHA, "filename": "水平衡测试报告.pdf"}]
    assert len(report["indicators"]) == len(GBT2025_VALUES)
    assert (report["preparer"], report["reviewer"], report["pledge"]) == ("张三", "李四", True)
    assert len(report["content_hash"]) == 64


def test_deviation_is_claimed_minus_platform() -> None:
    report = build_report(make(claimed_total=D("75.5")))
    assert (report["claimed_total"], report["deviation"]) == ("75.50", "4.28")
    below = build_report(make(claimed_total=D("70")))
    assert below["deviation"] == "-1.22"
    self_report = build_report(make(path="self", institution=None, reviewer="",
                                    claimed_total=None))
    assert self_report["claimed_total"] is None and self_report["deviation"] is None


def test_numbers_keep_two_decimals_and_are_never_rounded() -> None:
    assert (amount(D("71.2")), amount(D(100)), amount(D("0.125")), amount(D("-0.00"))) == (
        "71.20", "100.00", "0.125", "0.00")


def test_hash_is_stable_and_survives_a_json_round_trip() -> None:
    report = build_report(make())
    assert build_report(make())["content_hash"] == report["content_hash"]
    stored = json.loads(json.dumps(report, ensure_ascii=False))
    assert verify_hash(stored)


@pytest.mark.parametrize("changes", [
    {"highlights": "余热回收，光伏覆盖 41% 屋顶"},
    {"values": dict(GBT2025_VALUES, water_reuse=Quantity(93, "%"))},
    {"claimed_total": D("75.51")},
    {"reviewer": "王五"},
    {"evidence": {"water_reuse": [{"sha256": "cd" * 32, "filename": "水平衡测试报告.pdf"}]}},
    {"veto": {"vetoed": True, "on": "2025-10-11",
              "conditions": [{"condition": 6, "code": "dishonest_debtor", "title": "失信被执行人",
                              "records": ["rec-1"]}]}},
])
def test_hash_changes_with_any_value(changes: dict[str, Any]) -> None:
    assert build_report(make(**changes))["content_hash"] != build_report(make())["content_hash"]


@pytest.mark.parametrize("key, value", [
    ("total", "99.00"), ("highlights", "改过"), ("pledge", False), ("content_hash", "0" * 64),
])
def test_verify_hash_detects_tampering(key: str, value: Any) -> None:
    report = build_report(make())
    assert verify_hash(report)
    assert not verify_hash({**report, key: value})


def test_verify_hash_detects_a_changed_indicator_and_a_missing_hash() -> None:
    report = json.loads(json.dumps(build_report(make())))
    report["indicators"][0]["points"] = "9.00"
    assert not verify_hash(report)
    assert not verify_hash({k: v for k, v in build_report(make()).items() if k != "content_hash"})


def test_highlights_over_100_characters_are_refused() -> None:
    assert build_report(make(highlights="绿" * 100))["highlights"] == "绿" * 100
    with pytest.raises(DomainError) as caught:
        build_report(make(highlights="绿" * 101))
    assert caught.value.code == "report.highlights_too_long" and caught.value.kind is Kind.INVALID
    assert caught.value.params == {"max": 100, "length": 101}
    assert "100" in caught.value.message("zh") and "101" in caught.value.message("en")


def test_a_missing_pledge_is_refused() -> None:
    with pytest.raises(DomainError) as caught:
        build_report(make(pledge=False))
    assert caught.value.code == "report.pledge_required" and caught.value.kind is Kind.INVALID
    assert caught.value.message("zh") != "report.pledge_required"  # the catalogue has it


def test_vetoes_make_the_conclusion() -> None:
    basic = dict(MET, no_major_accident=False)
    report = build_report(make(basic=basic))
    assert report["conclusion"] == "vetoed" and report["vetoed_by"] == ["no_major_accident"]
    assert [r["met"] for r in report["basic_requirements"]] == [True, False, True, True]
    registry = build_report(make(veto={"vetoed": True, "on": "2025-10-11", "conditions": [
        {"condition": 6, "code": "dishonest_debtor", "title": "失信被执行人", "records": ["r1"]}]}))
    assert registry["conclusion"] == "vetoed" and registry["passed"] is True  # score alone
    assert registry["veto"]["conditions"][0]["records"] == ["r1"]


def test_unknown_evidence_indicator_and_inconsistent_input_are_refused() -> None:
    with pytest.raises(DomainError) as caught:
        build_report(make(evidence={"no_such": []}))
    assert caught.value.code == "value.unknown_indicator"
    with pytest.raises(ValueError):  # the result was scored with other basic answers
        build_report(make(result=score(SCHEME, GBT2025_VALUES, basic={})))
    with pytest.raises(ValueError):
        build_report(make(scheme_version=2))


def test_html_escapes_every_value_and_shows_the_hash() -> None:
    unit = {"id": "u-1", "uscc": "91320500MA1N2P3Q43", "name": "<script>alert(1)</script>厂",
            "kind": "factory", "location": "320500", "industry": "3971"}
    report = build_report(make(unit=unit, highlights='"<b>亮点</b>" & more'))
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and "@page" in page and "A4" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;厂" in page
    assert "<b>亮点</b>" not in page and "&quot;&lt;b&gt;亮点&lt;/b&gt;&quot; &amp; more" in page
    assert report["content_hash"] in page
    assert "71.22" in page and "水平衡测试报告.pdf" in page and "某认证中心" in page
    assert "内容哈希与报告内容不符" not in page
    assert "内容哈希与报告内容不符" in render_html({**report, "total": "99.00"})


def test_pdf_is_a_whole_document_and_reproducible() -> None:
    report = build_report(make())
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 5000
    assert b"STSong-Light" in pdf
    assert render_pdf(report) == pdf  # invariant: no timestamps or random ids


def test_pdf_of_a_self_evaluation_with_a_veto_renders() -> None:
    report = build_report(make(path="self", institution=None, reviewer="", claimed_total=None,
                               basic=dict(MET, lawful_operation=False),
                               unit={"id": "u-2", "uscc": "x", "name": "<b>&", "kind": "factory",
                                     "location": "320500", "industry": "3971"}))
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
