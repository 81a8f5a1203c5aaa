"""The report's content (评价报告内容) and its content hash (SPEC §4, §13).

``build_report`` turns a scored evaluation into plain JSON-able data: unit identity (单位信息,
its location and industry by name as well as code), scheme version (评价方案及版本), the level
applied for (申报级别), the two paths (自评价 / 第三方机构评价), basic requirements (基本要求) met
or not, the veto check (否决条件核查) with each record in words, declarations the registry
contradicts, every indicator with its evidence references (证明材料) and the names of its
provisional figures, category and total scores (whether each category's points and the pass
mark are provisional figures), the institution's claimed score and its deviation, highlights
(亮点, ≤ 100 characters), preparer (编制人) and reviewer (审核人), the integrity pledge (诚信承诺)
and ``content_hash``: sha256 over the RFC 8785 canonical JSON of everything else but the
``signature`` block (SPEC §13), which is added over the hash once signed.

Numbers are strings with (at least) two decimals and never rounded here, so the hash is exact and
survives any JSON round trip. A report of format 1 (before the level, names and signatures) stays
readable: the renderings take both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal, localcontext
from typing import Any

import rfc8785

from services.evaluation import domain
from services.evaluation.domain import Contradiction
from services.evaluation.facts import UnitFact, VetoFact
from services.evaluation.schemes import Scheme
from services.evaluation.scoring import CENT, IndicatorScore, Result
from services.kernel.errors import invalid, refuse
from services.kernel.industries import industry_name
from services.kernel.tenancy import division

FORMAT = "greenladder.evaluation-report/2"
FORMAT_1 = "greenladder.evaluation-report/1"
FORMATS = (FORMAT_1, FORMAT)
UNHASHED = ("content_hash", "signature")   # what the hash does not cover
HIGHLIGHTS_MAX = domain.HIGHLIGHTS_MAX
PATHS = domain.PATHS


@dataclass(frozen=True)
class ReportInput:
    """Everything a report states. ``scheme`` names the basic requirements; ``scheme_id``,
    ``scheme_version`` and ``scheme_title_zh`` default to the scheme's and must agree with it."""

    evaluation_id: str
    tenant: str
    unit: Mapping[str, Any]                   # id, uscc, name, kind, location, industry
    scheme: Scheme
    path: str                                 # "self" 自评价 | "institution" 第三方机构评价
    institution: Mapping[str, Any] | None     # uscc, name, legal_representative, address
    basic: Mapping[str, bool]                 # basic requirement id → met
    veto: VetoFact                            # the registry's veto check at submission
    result: Result
    evidence: Mapping[str, Sequence[Mapping[str, str]]]  # indicator id → [{sha256, filename}]
    highlights: str
    preparer: str
    reviewer: str
    pledge: bool
    claimed_total: Decimal | None
    submitted_at: str
    contradictions: Sequence[Contradiction] = ()   # declarations the registry contradicts
    scheme_id: str | None = None
    scheme_version: int | None = None
    scheme_title_zh: str | None = None


def build_report(inp: ReportInput) -> dict[str, Any]:
    """The report's content, ``content_hash`` included. Refuses highlights over 100 characters
    (``report.highlights_too_long``) and a missing pledge (``report.pledge_required``)."""
    refuse(domain.highlights_refusal(inp.highlights))
    refuse(domain.pledge_refusal(inp.pledge))
    highlights = inp.highlights.strip()
    scheme, result = inp.scheme, inp.result
    _agree(inp)

    name = f"{scheme.id} v{scheme.version}"
    requirements = {r.id: r for r in scheme.basic_requirements}
    for key in inp.basic:
        if key not in requirements:
            raise invalid("value.unknown_requirement", scheme=name, id=key)
    indicator_ids = {line.id for line in result.indicators}
    for key in inp.evidence:
        if key not in indicator_ids:
            raise invalid("value.unknown_indicator", scheme=name, id=key)

    veto = inp.veto
    contradicted = {c.requirement for c in inp.contradictions}
    claimed = inp.claimed_total
    content: dict[str, Any] = {
        "format": FORMAT,
        "evaluation_id": inp.evaluation_id,
        "tenant": inp.tenant,
        "unit": _unit(inp.unit),
        "scheme": {"id": scheme.id, "version": scheme.version, "title_zh": scheme.title_zh,
                   "title_en": scheme.title_en},
        "level": result.level,
        "provisional": result.provisional,
        "path": inp.path,
        "institution": None if inp.institution is None else {
            key: _text(inp.institution.get(key))
            for key in ("uscc", "name", "legal_representative", "address")},
        "basic_requirements": [
            {"id": r.id, "text_zh": r.text_zh, "text_en": r.text_en,
             "met": inp.basic.get(r.id) is True, "contradicted": r.id in contradicted}
            for r in scheme.basic_requirements],
        "veto": {
            "vetoed": veto.vetoed,
            "on": veto.on,
            "conditions": [
                {"condition": c.condition, "code": c.code, "title_zh": c.title_zh or c.title,
                 "title_en": c.title_en or c.title,
                 "records": [asdict(r) for r in c.records]}
                for c in veto.conditions],
        },
        "contradictions": [
            {"requirement": c.requirement, "text_zh": requirements[c.requirement].text_zh,
             "text_en": requirements[c.requirement].text_en,
             "records": [asdict(r) for r in c.records]}
            for c in inp.contradictions if c.requirement in requirements],
        "indicators": [_indicator(line, inp.evidence.get(line.id, ()))
                       for line in result.indicators],
        "categories": [
            {"id": c.id, "name_zh": c.name_zh, "name_en": c.name_en, "points": amount(c.points),
             "max": amount(c.max_points), "provisional": c.provisional}
            for c in result.categories],
        "total": amount(result.total),
        "max_total": amount(result.max_total),
        "pass_mark": amount(result.pass_mark),
        "pass_mark_provisional": result.pass_mark_provisional,
        "passed": result.passed,
        "vetoed_by": list(result.vetoed_by),
        "failed_required": list(result.failed_required),
        "missing": list(result.missing),
        # 结论: the score alone (passed) is not the verdict when a veto condition applies
        "conclusion": ("vetoed" if veto.vetoed or result.vetoed
                       else "passed" if result.passed else "failed"),
        "claimed_total": None if claimed is None else amount(claimed),
        "deviation": None if claimed is None else amount(claimed - result.total),
        "highlights": highlights,
        "preparer": inp.preparer.strip(),
        "reviewer": inp.reviewer.strip(),
        "pledge": True,
        "submitted_at": inp.submitted_at,
    }
    content["content_hash"] = content_hash(content)
    return content


def content_hash(report: Mapping[str, Any]) -> str:
    """sha256 hex of the RFC 8785 canonical JSON of ``report`` without ``content_hash`` and the
    ``signature`` block (which is made over the hash)."""
    body = {key: value for key, value in report.items() if key not in UNHASHED}
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def verify_hash(report: Mapping[str, Any]) -> bool:
    """True when ``content_hash`` matches the rest of the report (nothing changed since)."""
    stated = report.get("content_hash")
    if not isinstance(stated, str):
        return False
    try:
        return content_hash(report) == stated
    except (TypeError, ValueError, rfc8785.CanonicalizationError):  # not JSON any more: tampered
        return False


def amount(number: Decimal) -> str:
    """A Decimal as text with two decimals (71.2 → "71.20"), more only when it has them
    (0.125 stays "0.125"): never rounded, so the hash states exactly what was scored."""
    if not number.is_finite():
        raise ValueError(f"not a finite number: {number}")
    with localcontext() as ctx:
        ctx.prec = 100
        number = number.normalize() if number else Decimal(0)
        if number.as_tuple().exponent >= -2:
            number = number.quantize(CENT)
        return format(number, "f")


def place_name(code: str) -> str:
    """A GB/T 2260 code in words, province to county (320115 → 江苏省南京市江宁区); a county the
    shipped data lacks is named as far as its prefecture; "" for a code it does not know."""
    names: list[str] = []
    found = division(code) or division(code[:4] + "00") if code else None
    while found is not None:
        names.append(found.name_zh)
        found = division(found.parent) if found.parent else None
    return "".join(reversed(names))


def _unit(unit: Mapping[str, Any]) -> dict[str, str]:
    out = {key: _text(unit.get(key)) for key in UnitFact.REPORTED}
    out["location_name"] = place_name(out["location"])
    out["industry_name"] = industry_name(out["industry"])
    return out


def _indicator(line: IndicatorScore, refs: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    value = line.value
    return {
        "category": line.category, "id": line.id, "kind": line.kind,
        "name_zh": line.name_zh, "name_en": line.name_en,
        "value": amount(value) if isinstance(value, Decimal) else value,
        "unit": line.unit,
        "yearly": [amount(year) for year in line.yearly],
        "basis": None if line.basis is None else amount(line.basis),
        "tier": line.tier,
        "products": [{"name": p.name, "amount": amount(p.amount), "unit": p.unit,
                      "standard": p.standard, "grade1": amount(p.grade1),
                      "grade2": amount(p.grade2), "weight": amount(p.weight),
                      "points": amount(p.points)} for p in line.products],
        "rule_zh": line.rule_zh, "rule_en": line.rule_en,
        "baseline": None if line.baseline is None else amount(line.baseline),
        "leading": None if line.leading is None else amount(line.leading),
        "points": amount(line.points), "max": amount(line.max_points),
        "missing": line.missing,
        "provisional": list(line.provisional),
        # sorted: the report does not depend on the order the store returns files in
        "evidence": sorted(({"sha256": str(r["sha256"]), "filename": str(r["filename"])}
                            for r in refs), key=lambda r: (r["sha256"], r["filename"])),
    }


def _agree(inp: ReportInput) -> None:
    """A caller's inconsistency (a result of another scheme, basic answers that do not give its
    veto) is a bug, not a user's error: ValueError."""
    scheme, result = inp.scheme, inp.result
    if inp.path not in PATHS:
        raise ValueError(f"path {inp.path!r} is not one of {PATHS}")
    if (result.scheme_id, result.scheme_version) != scheme.key:
        raise ValueError(f"result of {result.scheme_id} v{result.scheme_version}, "
                         f"scheme {scheme.id} v{scheme.version}")
    stated = (inp.scheme_id, inp.scheme_version, inp.scheme_title_zh)
    for given, actual in zip(stated, (scheme.id, scheme.version, scheme.title_zh)):
        if given is not None and given != actual:
            raise ValueError(f"scheme {given!r} given, the scheme says {actual!r}")
    not_met = tuple(r.id for r in scheme.basic_requirements if inp.basic.get(r.id) is not True)
    if not_met != result.vetoed_by:
        raise ValueError(f"basic requirements not met {not_met}, "
                         f"the result says {result.vetoed_by}")


def _text(value: Any) -> str:
    return "" if value is None else str(value)
