"""Automated scoring (平台自动评分) of one evaluation under one scheme version (SPEC §4).

Pure and deterministic: the same scheme and values always give the same ``Result``, with an
explanation for every point. The rules:

* basic requirements (基本要求) are a one-vote veto (一票否决): one not declared met vetoes the
  evaluation. The score is still computed, so the unit sees where it stands, but it fails;
* quantitative (定量): 0 at or beyond the baseline (基准值), full points at or beyond the leading
  value (引领值), linear in between; a reverse (逆向) indicator is the mirror image. A tiered
  indicator takes its baseline and leading value from the tier its ``basis`` falls in; a
  per-product value scores each product against its standard's grade 2 (baseline) and grade 1
  (leading), weighted by the product's use;
* qualitative (定性): the chosen rubric option's fraction × the indicator's points;
* required (必选): met → full points; not met (or not reported) → 0 and the evaluation fails;
  optional (可选): met → full points, else 0;
* a missing value scores 0 and is listed;
* each indicator is rounded to 2 decimals half-up; categories and the total add the rounded figures,
  so the report's columns always add up;
* every line names its provisional figures (not from an official text), and the result says
  whether the scheme version has any.

- ``model``: values and the result; ``engine``: the score; ``quantitative``: quantitative lines;
  ``lines``: interpolation, rounding and the explained line.
"""

from services.evaluation.scoring.engine import accepts, result_dict, score, score_one
from services.evaluation.scoring.lines import interpolate, provisional_note, round_points
from services.evaluation.scoring.model import (
    CENT,
    CONTEXT,
    CategoryScore,
    IndicatorScore,
    Number,
    Product,
    Products,
    ProductScore,
    Quantity,
    Result,
    Value,
    Yearly,
)
from services.evaluation.scoring.quantitative import tier_label

__all__ = [
    "CENT", "CONTEXT", "CategoryScore", "IndicatorScore", "Number", "Product", "ProductScore",
    "Products", "Quantity", "Result", "Value", "Yearly", "accepts", "interpolate",
    "provisional_note", "result_dict", "round_points", "score", "score_one", "tier_label",
]
