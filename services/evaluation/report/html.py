"""The report as a standalone printable (A4) HTML document."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from services.evaluation.report.content import verify_hash
from services.evaluation.report.wording import (
    PLEDGE,
    PROVISIONAL,
    PROVISIONAL_MEANS,
    SIGNATURE_NOTE,
    TITLE,
    category_provisional,
    contradiction_lines,
    head_rows,
    is_provisional,
    provisional_figures,
    shown_value,
    signature_rows,
    signoff_rows,
    summary_rows,
    veto_lines,
)

_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       "SimSun", sans-serif; font-size: 10pt; color: #111; margin: 0 auto; max-width: 182mm; }
h1 { font-size: 17pt; text-align: center; margin: 0 0 2mm; }
h2 { font-size: 12pt; border-bottom: 1px solid #333; margin: 6mm 0 2mm; padding-bottom: 1mm; }
small, .en { font-size: 7.5pt; color: #555; font-weight: normal; }
table { width: 100%; border-collapse: collapse; page-break-inside: auto; }
tr { page-break-inside: avoid; }
th, td { border: 1px solid #999; padding: 1.2mm 1.6mm; vertical-align: top; text-align: left; }
th { background: #eee; }
td.num { text-align: right; white-space: nowrap; }
table.facts th { width: 32%; }
.rule { font-size: 7.5pt; color: #444; }
.evidence { font-size: 7pt; font-family: monospace; word-break: break-all; }
.warning { border: 2px solid #b00; color: #b00; padding: 2mm; margin: 2mm 0; }
.provisional { border: 2px solid #a60; color: #a60; padding: 2mm; margin: 2mm 0; }
.provisional b { font-size: 13pt; }
.mark { color: #a60; font-size: 7.5pt; }
footer { margin-top: 8mm; border-top: 1px solid #333; padding-top: 1.5mm; font-size: 7.5pt; }
footer code, table.signature td { word-break: break-all; font-family: monospace; }
"""


def render_html(report: Mapping[str, Any]) -> str:
    """A standalone printable (A4) HTML document of ``report``; every value is escaped."""
    e = _escape

    def label(zh: str, en: str) -> str:
        return f"{e(zh)} <small>{e(en)}</small>"

    def facts(rows: list[tuple[str, str, str]], css: str = "facts") -> str:
        return f"<table class={css}>" + "".join(
            f"<tr><th>{label(zh, en)}</th><td>{e(value)}</td></tr>" for zh, en, value in rows
        ) + "</table>"

    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{e(TITLE[0])} {e(report['unit']['name'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(TITLE[0])}<br><small>{e(TITLE[1])}</small></h1>",
    ]
    if is_provisional(report):
        parts.append(f'<div class="provisional"><b>{e(PROVISIONAL[0])} / {e(PROVISIONAL[1])}'
                     f"</b><br>{e(PROVISIONAL_MEANS[0])}<br><small>{e(PROVISIONAL_MEANS[1])}"
                     "</small></div>")
    if not verify_hash(report):
        parts.append('<p class="warning">内容哈希与报告内容不符 <small>The content hash does not '
                     "match the content</small></p>")
    parts += [f"<h2>{label('基本信息', 'Particulars')}</h2>", facts(head_rows(report))]

    parts.append(f"<h2>{label('基本要求', 'Basic requirements (one-vote veto)')}</h2><table>"
                 f"<tr><th>{label('要求', 'Requirement')}</th><th>{label('是否满足', 'Met')}</th></tr>")
    for r in report["basic_requirements"]:
        met = "满足 <small>met</small>" if r["met"] else "<b>不满足</b> <small>not met</small>"
        if r.get("contradicted"):
            met += "<br><b>与登记记录不符</b> <small>contradicted by the registry</small>"
        parts.append(f"<tr><td>{e(r['text_zh'])}<br><small>{e(r['text_en'])}</small></td>"
                     f"<td>{met}</td></tr>")
    parts.append("</table>")

    parts.append(f"<h2>{label('否决条件核查', 'Veto check')}</h2><ul>")
    parts += [f"<li>{e(zh)}<br><small>{e(en)}</small></li>" for zh, en in veto_lines(report)]
    parts.append("</ul>")
    contradictions = contradiction_lines(report)
    if contradictions:
        parts.append(f"<h2>{label('与登记记录不符的声明', 'Declarations the registry contradicts')}"
                     '</h2><ul class="warning">')
        parts += [f"<li>{e(zh)}<br><small>{e(en)}</small></li>" for zh, en in contradictions]
        parts.append("</ul>")

    parts.append(f"<h2>{label('一级指标得分', 'Category scores')}</h2><table>"
                 f"<tr><th>{label('一级指标', 'Category')}</th><th>{label('得分', 'Points')}</th>"
                 f"<th>{label('满分', 'Max')}</th></tr>")
    for c in report["categories"]:
        mark = ("<br><span class=mark>暂定分值 / provisional points</span>"
                if category_provisional(report, c) else "")
        parts.append(f"<tr><td>{e(c['name_zh'])} <small>{e(c['name_en'])}</small>{mark}</td>"
                     f"<td class=num>{e(c['points'])}</td><td class=num>{e(c['max'])}</td></tr>")
    parts.append(f"<tr><th>{label('合计', 'Total')}</th><th class=num>{e(report['total'])}</th>"
                 f"<th class=num>{e(report['max_total'])}</th></tr></table>")

    names = {c["id"]: c["name_zh"] for c in report["categories"]}
    parts.append(f"<h2>{label('二级指标', 'Indicators')}</h2><table>"
                 f"<tr><th>{label('指标及评分规则', 'Indicator and rule')}</th>"
                 f"<th>{label('取值', 'Value')}</th>"
                 f"<th>{label('基准值 / 引领值', 'Baseline / leading')}</th>"
                 f"<th>{label('得分 / 满分', 'Points / max')}</th>"
                 f"<th>{label('证明材料', 'Evidence')}</th></tr>")
    for line in report["indicators"]:
        value_zh, value_en = shown_value(line)
        mark_zh, mark_en = provisional_figures(line, report)
        mark = f"<br><span class=mark>{e(mark_zh)} / {e(mark_en)}</span>" if mark_zh else ""
        bounds = ("—" if line["baseline"] is None
                  else f"{line['baseline']} / {line['leading']}")
        evidence = "<br>".join(f"{e(ref['filename'])}<br><span class=evidence>"
                               f"sha256:{e(ref['sha256'])}</span>" for ref in line["evidence"])
        parts.append(
            f"<tr><td>{e(names.get(line['category'], line['category']))} › "
            f"{e(line['name_zh'])} <small>{e(line['name_en'])}</small>{mark}"
            f"<div class=rule>{e(line['rule_zh'])}<br>{e(line['rule_en'])}</div></td>"
            f"<td>{e(value_zh)}<br><small>{e(value_en)}</small></td><td class=num>{e(bounds)}</td>"
            f"<td class=num>{e(line['points'])} / {e(line['max'])}</td>"
            f"<td>{evidence or '—'}</td></tr>")
    parts.append("</table>")

    parts += [f"<h2>{label('评价结果', 'Result')}</h2>", facts(summary_rows(report)),
              f"<h2>{label('亮点', 'Highlights')}</h2><p>{e(report['highlights']) or '—'}</p>",
              f"<h2>{label('编制与承诺', 'Sign-off and pledge')}</h2>", facts(signoff_rows(report)),
              f"<p>{e(PLEDGE[0])}<br><small>{e(PLEDGE[1])}</small></p>",
              f"<h2>{label('内容哈希与签名', 'Content hash and signature')}</h2>",
              facts(signature_rows(report), "signature"),
              f"<p><small>{e(SIGNATURE_NOTE[0])}<br>{e(SIGNATURE_NOTE[1])}</small></p>",
              f"<footer>{label('内容哈希', 'Content hash')} (SHA-256, RFC 8785)："
              f"<code>{e(report.get('content_hash', ''))}</code></footer>",
              "</body></html>"]
    return "\n".join(parts)


def _escape(value: Any) -> str:
    return html.escape("" if value is None else str(value))
