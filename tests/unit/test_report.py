"""The evaluation report: content, hash, HTML, PDF (SPEC §4, §13; services/evaluation/report/)."""

from __future__ import annotations

import dataclasses
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from fontTools import fontBuilder
from pypdf import PdfReader

from services.evaluation.domain import Contradiction
from services.evaluation.facts import VetoCondition, VetoFact, VetoRecord
from services.evaluation.report import (
    ATTACHMENT,
    FORMAT_1,
    ReportInput,
    amount,
    build_report,
    clear_cache,
    content_hash,
    font,
    place_name,
    render,
    render_html,
    render_pdf,
    report_json,
    verify_hash,
)
from services.evaluation.report import pdf as pdf_module
from services.evaluation.schemes import get_scheme
from services.evaluation.scoring import Quantity, score
from services.kernel.errors import DomainError, Kind
from tests.unit.test_scoring import GBT2025_VALUES

D = Decimal
SCHEME = get_scheme("gbt36132-2025", 1)
MET = {r.id: True for r in SCHEME.basic_requirements}
SHA = "ab" * 32
CLEAR = VetoFact(vetoed=False, on="2025-10-11")
ACCIDENT = VetoRecord(kind="safety_accident", kind_zh="安全事故", kind_en="safety accident",
                      condition=2, occurred_on="2025-03-02", reference="苏应急罚〔2025〕12号",
                      source="江苏省应急管理厅")
ACCIDENT_VETO = VetoFact(vetoed=True, on="2025-10-11", conditions=(VetoCondition(
    condition=2, code="accident_or_violation", title="事故",
    title_zh="发生安全（含网络安全、数据安全）、质量、环境污染等事故或偷漏税等违法违规行为",
    title_en="Safety, quality or pollution accident, or a violation", records=(ACCIDENT,)),))


def make(**changes: Any) -> ReportInput:
    """A third-party report on the full GB/T 36132-2025 v1 evaluation (platform total 71.22)."""
    values = changes.pop("values", GBT2025_VALUES)
    basic = changes.pop("basic", MET)
    inp = ReportInput(
        evaluation_id="ev-1", tenant="t_320000",
        unit={"id": "u-1", "uscc": "91320500MA1N2P3Q43", "name": "苏州示例电子有限公司",
              "kind": "factory", "location": "320505", "industry": "3971"},
        scheme=SCHEME, path="institution",
        institution={"uscc": "91110000MA0YYYYY0Y", "name": "某认证中心"},
        basic=basic, veto=CLEAR,
        result=score(SCHEME, values, basic=basic, level=changes.pop("level", "provincial")),
        evidence={"water_reuse": [{"sha256": SHA, "filename": "水平衡测试报告.pdf"}]},
        highlights="余热回收，光伏覆盖 40% 屋顶", preparer="张三", reviewer="李四", pledge=True,
        claimed_total=D("75.5"), submitted_at="2025-10-11T09:00:00+08:00",
    )
    return dataclasses.replace(inp, **changes)


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def format_1(report: dict[str, Any]) -> dict[str, Any]:
    """A report as format 1 stored it: veto records as the registry's text, no names, no level
    names, no provisional marks, no contradictions, no signature; its own content hash."""
    old = json.loads(json.dumps(report, ensure_ascii=False))
    for key in ("provisional", "contradictions", "signature", "content_hash"):
        old.pop(key, None)
    old["format"] = FORMAT_1
    old["unit"] = {k: old["unit"][k] for k in ("id", "uscc", "name", "kind", "location",
                                                "industry")}
    old["basic_requirements"] = [{k: r[k] for k in ("id", "text_zh", "text_en", "met")}
                                 for r in old["basic_requirements"]]
    for line in old["indicators"]:
        for key in ("provisional", "basis", "tier", "products"):
            line.pop(key)
    for c in old["veto"]["conditions"]:
        c["title"] = c.pop("title_zh")
        c.pop("title_en")
        c["records"] = [str({"id": "rec-1", "kind": r["kind"], "recorded_by": "official-1"})
                        for r in c["records"]]
    old["content_hash"] = content_hash(old)
    return old


def test_content_states_every_part_of_the_report() -> None:
    report = build_report(make())
    assert report["format"] == "greenladder.evaluation-report/2"
    assert report["unit"] == {"id": "u-1", "uscc": "91320500MA1N2P3Q43",
                              "name": "苏州示例电子有限公司", "kind": "factory",
                              "location": "320505", "location_name": "江苏省苏州市虎丘区",
                              "industry": "3971",
                              "industry_name": "计算机、通信和其他电子设备制造业"}
    assert report["scheme"] == {"id": "gbt36132-2025", "version": 1,
                                "title_zh": SCHEME.title_zh, "title_en": SCHEME.title_en}
    assert report["level"] == "provincial" and report["provisional"] is True
    assert report["path"] == "institution" and report["institution"]["name"] == "某认证中心"
    assert [(r["met"], r["contradicted"]) for r in report["basic_requirements"]] == [
        (True, False)] * 4
    assert report["veto"] == {"vetoed": False, "on": "2025-10-11", "conditions": []}
    assert report["contradictions"] == []
    assert [(c["id"], c["points"], c["max"]) for c in report["categories"]][0] == (
        "energy_low_carbon", "23.08", "30.00")
    assert (report["total"], report["passed"]) == ("71.22", True)
    assert report["pass_mark"] == amount(SCHEME.pass_mark.for_level("provincial"))
    assert report["conclusion"] == "passed"
    water = next(i for i in report["indicators"] if i["id"] == "water_reuse")
    assert water["value"] == "92.00" and water["unit"] == "%"
    assert (water["baseline"], water["leading"], water["points"], water["max"]) == (
        "85.00", "95.00", "4.90", "7.00")
    assert water["provisional"] == ["points", "baseline", "leading"]
    assert water["evidence"] == [{"sha256": SHA, "filename": "水平衡测试报告.pdf"}]
    assert len(report["indicators"]) == len(GBT2025_VALUES)
    assert (report["preparer"], report["reviewer"], report["pledge"]) == ("张三", "李四", True)
    assert len(report["content_hash"]) == 64 and "signature" not in report


def test_places_are_named_from_province_to_county() -> None:
    assert place_name("320115") == "江苏省南京市江宁区"
    assert place_name("320100") == "江苏省南京市"
    assert place_name("320199") == "江苏省南京市"   # a county the data lacks: its prefecture
    assert place_name("") == "" and place_name("999999") == ""


def test_the_level_of_a_report_is_stated_and_none_is_said_as_such() -> None:
    assert "申报级别" in render_html(build_report(make()))
    assert "省级 provincial" in render_html(build_report(make()))
    unstated = build_report(make(level=None))
    assert unstated["level"] is None and "未申报级别" in render_html(unstated)


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


def test_hash_is_stable_survives_a_json_round_trip_and_leaves_the_signature_out() -> None:
    report = build_report(make())
    assert build_report(make())["content_hash"] == report["content_hash"]
    stored = json.loads(json.dumps(report, ensure_ascii=False))
    assert verify_hash(stored)
    signed = {**stored, "signature": {"alg": "Ed25519", "key_id": "k", "signature": "c2ln"}}
    assert verify_hash(signed) and content_hash(signed) == report["content_hash"]


@pytest.mark.parametrize("changes", [
    {"highlights": "余热回收，光伏覆盖 41% 屋顶"},
    {"values": dict(GBT2025_VALUES, water_reuse=Quantity(93, "%"))},
    {"claimed_total": D("75.51")},
    {"reviewer": "王五"},
    {"level": "national"},
    {"evidence": {"water_reuse": [{"sha256": "cd" * 32, "filename": "水平衡测试报告.pdf"}]}},
    {"veto": ACCIDENT_VETO},
    {"veto": ACCIDENT_VETO, "contradictions": (Contradiction("no_major_accident", (ACCIDENT,)),)},
])
def test_hash_changes_with_any_value(changes: dict[str, Any]) -> None:
    assert build_report(make(**changes))["content_hash"] != build_report(make())["content_hash"]


@pytest.mark.parametrize("key, value", [
    ("total", "99.00"), ("highlights", "改过"), ("pledge", False), ("content_hash", "0" * 64),
    ("provisional", False), ("level", "national"),
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
    assert not verify_hash({**build_report(make()), "total": 2**80})  # not canonical JSON


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


def test_vetoes_make_the_conclusion_and_records_read_in_words() -> None:
    basic = dict(MET, no_major_accident=False)
    report = build_report(make(basic=basic))
    assert report["conclusion"] == "vetoed" and report["vetoed_by"] == ["no_major_accident"]
    assert [r["met"] for r in report["basic_requirements"]] == [True, False, True, True]
    registry = build_report(make(veto=ACCIDENT_VETO))
    assert registry["conclusion"] == "vetoed" and registry["passed"] is True  # score alone
    assert registry["veto"]["conditions"][0]["records"] == [dataclasses.asdict(ACCIDENT)]
    page = render_html(registry)
    assert ("2025-03-02 安全事故（条件 2），文号 苏应急罚〔2025〕12号，来源 江苏省应急管理厅"
            in page)
    assert "2025-03-02 safety accident (condition 2), reference 苏应急罚〔2025〕12号" in page
    assert "{" not in page.split("<body>")[1].split("<footer>")[0]   # no dict printed


def test_a_contradicted_declaration_has_its_own_section() -> None:
    report = build_report(make(veto=ACCIDENT_VETO, contradictions=(
        Contradiction("no_major_accident", (ACCIDENT,)),)))
    assert report["contradictions"] == [{
        "requirement": "no_major_accident",
        "text_zh": SCHEME.basic_requirements[1].text_zh,
        "text_en": SCHEME.basic_requirements[1].text_en,
        "records": [dataclasses.asdict(ACCIDENT)]}]
    assert [r["contradicted"] for r in report["basic_requirements"]] == [
        False, True, False, False]
    page = render_html(report)
    assert "与登记记录不符的声明" in page and "与登记记录不符" in page
    assert f"单位声明已满足“{SCHEME.basic_requirements[1].text_zh}”" in page
    text = pdf_text(render_pdf(report))
    assert "与登记记录不符的声明" in text and "2025-03-02" in text


def test_the_result_names_basic_requirements_and_indicators_not_their_ids() -> None:
    values = {k: v for k, v in GBT2025_VALUES.items() if k != "water_reuse"}
    report = build_report(make(values=values, basic=dict(MET, no_major_accident=False)))
    assert report["missing"] == ["water_reuse"] and report["vetoed_by"] == ["no_major_accident"]
    result = render_html(report).split("评价结果")[1]
    water = next(i for i in report["indicators"] if i["id"] == "water_reuse")
    assert water["name_zh"] in result and SCHEME.basic_requirements[1].text_zh in result
    assert "water_reuse" not in result and "no_major_accident" not in result


def test_unknown_evidence_indicator_and_inconsistent_input_are_refused() -> None:
    with pytest.raises(DomainError) as caught:
        build_report(make(evidence={"no_such": []}))
    assert caught.value.code == "value.unknown_indicator"
    with pytest.raises(ValueError):  # the result was scored with other basic answers
        build_report(make(result=score(SCHEME, GBT2025_VALUES, basic={})))
    with pytest.raises(ValueError):
        build_report(make(scheme_version=2))


def test_html_escapes_every_value_shows_the_hash_and_the_provisional_mark() -> None:
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
    first = page.split("<h2>")[0]   # before the first section: the first page's head
    assert "含暂定值 / contains provisional values" in first and "不构成法定评价结果" in first
    assert "暂定：分值、基准值、引领值" in page


def test_a_report_without_provisional_figures_has_no_mark() -> None:
    report = {**build_report(make()), "provisional": False}
    report["content_hash"] = content_hash(report)
    assert "含暂定值" not in render_html(report)


def test_html_and_pdf_print_the_signature() -> None:
    signed = {**build_report(make()),
              "signature": {"alg": "Ed25519", "key_id": "evaluation_reports-1",
                            "signature": "U0lHTkFUVVJF"}}
    assert "evaluation_reports-1" in render_html(signed) and "U0lHTkFUVVJF" in render_html(signed)
    text = pdf_text(render_pdf(signed))
    assert "evaluation_reports-1" in text and "U0lHTkFUVVJF" in text


def test_pdf_embeds_its_font_and_reads_in_chinese_anywhere() -> None:
    """Every font of every page is embedded (a subset of Noto Sans CJK SC): a machine without
    Chinese fonts shows the same text, and the text extracts as Chinese."""
    report = build_report(make())
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"STSong-Light" not in pdf
    reader = PdfReader(io.BytesIO(pdf))
    fonts = {}
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            fonts[str(font["/BaseFont"])] = font
    assert fonts
    for name, font in fonts.items():
        descriptor = font.get("/FontDescriptor")
        if descriptor is None and "/DescendantFonts" in font:
            descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        assert descriptor is not None, f"{name} is not embedded"
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.get_object()), name
        assert "NotoSansCJKsc" in name
    text = pdf_text(pdf)
    assert "绿色制造评价报告" in text and "苏州示例电子有限公司" in text
    assert "江苏省苏州市虎丘区" in text and "含暂定值" in reader.pages[0].extract_text()


def test_pdf_is_reproducible_and_carries_the_json_report(
        monkeypatch: pytest.MonkeyPatch) -> None:
    report = build_report(make())
    pdf = render_pdf(report)
    clear_cache()
    assert render_pdf(report) == pdf  # invariant: no timestamps or random ids
    # its font made again, at another time, in a fresh cache: the same bytes
    clear_cache()
    font.truetype.cache_clear()
    monkeypatch.setattr(fontBuilder, "timestampNow", lambda: 4_000_000_000)
    assert render_pdf(report) == pdf
    attached = PdfReader(io.BytesIO(pdf)).attachments[ATTACHMENT]
    assert attached == [report_json(report)]
    assert json.loads(attached[0]) == report


def test_pdf_of_a_self_evaluation_with_a_veto_renders() -> None:
    report = build_report(make(path="self", institution=None, reviewer="", claimed_total=None,
                               basic=dict(MET, lawful_operation=False), veto=ACCIDENT_VETO,
                               unit={"id": "u-2", "uscc": "x", "name": "<b>&", "kind": "factory",
                                     "location": "320500", "industry": "3971"}))
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert "安全事故（条件 2）" in pdf_text(pdf)


@pytest.mark.parametrize("fmt", ["json", "html", "pdf"])
def test_a_report_of_format_1_still_renders_all_of_it_provisional(fmt: str) -> None:
    """Reports stored before format 2 (veto records as text, no names, no signature) render in
    every format. They do not say which figures were provisional: every scheme version they were
    issued under was provisional throughout, so the first page, every line, every category and
    the pass mark are marked (review M5)."""
    old = format_1(build_report(make(veto=ACCIDENT_VETO)))
    assert verify_hash(old)
    body, _ = render(old, fmt)
    if fmt == "json":
        assert json.loads(body) == old   # the content as stored: nothing added to it
    elif fmt == "html":
        page = body.decode()
        assert "含暂定值" in page.split("<h2>")[0] and "内容哈希与报告内容不符" not in page
        assert "rec-1" in page and "无（签名前的报告格式）" in page
        assert page.count("暂定：本行全部数值") == len(old["indicators"])
        assert page.count("暂定分值 / provisional points") == len(old["categories"])
        assert "60.00（暂定 provisional）" in page
    else:
        assert "含暂定值" in PdfReader(io.BytesIO(body)).pages[0].extract_text()
        assert "暂定：本行全部数值" in pdf_text(body)


# --- the pass mark and the categories carry their own mark (review M3) ---------------------------


def test_the_pass_mark_and_each_categorys_points_say_whether_they_are_provisional() -> None:
    report = build_report(make())
    assert report["pass_mark_provisional"] is True
    assert [c["provisional"] for c in report["categories"]] == [True] * len(report["categories"])
    page = render_html(report)
    assert "60.00（暂定 provisional）" in page
    assert page.count("暂定分值 / provisional points") == len(report["categories"])
    text = pdf_text(render_pdf(report))
    assert "60.00（暂定 provisional）" in text and "暂定分值" in text

    official = json.loads(json.dumps(report, ensure_ascii=False))
    official["pass_mark_provisional"] = False
    official["categories"][0]["provisional"] = False
    official["content_hash"] = content_hash(official)
    page = render_html(official)
    assert "60.00（暂定" not in page and "合格分数线" in page
    assert page.count("暂定分值 / provisional points") == len(report["categories"]) - 1
    # a format-2 report issued before the pass mark was flagged: as provisional as the report
    older = {k: v for k, v in report.items() if k != "pass_mark_provisional"}
    assert "60.00（暂定 provisional）" in render_html(older)
    assert "60.00（暂定" not in render_html({**older, "provisional": False})


# --- rendered once, the same bytes every time (review H1, H2) ------------------------------------


def test_a_pdf_rendered_after_another_reports_is_the_same_and_prints_its_own_text() -> None:
    """reportlab keeps the first font registered under a name for the whole process: each PDF
    must still embed its own report's characters, and be the bytes any process renders."""
    mine = build_report(make(highlights="余热回收，光伏覆盖 40% 屋顶"))
    other = build_report(make(highlights="另一份报告：鑫淼焱垚"))
    clear_cache()
    first = render_pdf(mine)
    render_pdf(other)
    clear_cache()
    again = render_pdf(mine)
    assert again == first and "余热回收，光伏覆盖 40% 屋顶" in pdf_text(again)
    clear_cache()
    assert "鑫淼焱垚" in pdf_text(render_pdf(other))


def test_a_rendered_pdf_is_kept_by_its_report_and_the_cache_is_bounded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    report = build_report(make())
    clear_cache()
    laid_out: list[str] = []
    layout = pdf_module._layout

    def counting(report: Any, **kwargs: Any) -> bytes:
        laid_out.append(report["content_hash"])
        return layout(report, **kwargs)

    monkeypatch.setattr(pdf_module, "_layout", counting)
    first = render_pdf(report)
    assert render_pdf(json.loads(report_json(report))) == first   # the same report, read back
    assert len(laid_out) == 1
    monkeypatch.setattr(pdf_module, "CACHED", 1)
    other = build_report(make(highlights="别的"))
    assert render_pdf(other) != first and len(laid_out) == 2
    assert render_pdf(report) == first and len(laid_out) == 3     # pushed out: laid out again
