"""Evaluation schemes (评价方案) as versioned data files (SPEC §4).

A scheme is one YAML file in ``data/schemes/`` (or the operator's ``GL_SCHEMES_DIR``): basic
requirements (基本要求, one-vote veto 一票否决), first-level categories (一级指标) and their
indicators (二级指标), and the sources of its figures (which are provisional, which official).
Adding an industry scheme, or a new version of one, is adding a file; no code changes.

- ``model``: the file format (pydantic models: types, allowed kinds and directions, missing
  fields, every figure finite and bounded in digits and places) and where each figure comes
  from;
- ``checks``: arithmetic, logic and sources (unique ids, points that add up, baseline and leading
  values that point the way the direction says, tiers, rubrics that can reach full marks, pass
  marks, every figure with a known source), every defect collected;
- ``loading``: files read within limits of size and YAML alias expansion, a key given twice
  refused; every shipped and operator file (a ``*.yml`` is a defect) checked when the service
  starts, then held in memory.

A defect is a ``scheme.invalid`` DomainError naming the file, the path inside it
(``categories[2].indicators[5].leading``) and the problem, so a malformed scheme never reaches
scoring.
"""

from services.evaluation.schemes.checks import Defect, check_scheme, format_number
from services.evaluation.schemes.loading import (
    DATA,
    SCHEMES,
    Catalogue,
    Limits,
    catalogue,
    check_at_start,
    collect,
    get_scheme,
    limits,
    parse_scheme,
    read_scheme_file,
    reload_schemes,
    scheme_defects,
    schemes,
)
from services.evaluation.schemes.model import (
    KINDS,
    LEVELS,
    MAX_DIGITS,
    MAX_PLACES,
    BasicRequirement,
    Basis,
    Category,
    Check,
    Indicator,
    PassMark,
    PerProduct,
    Qualitative,
    Quantitative,
    RubricOption,
    Scheme,
    Source,
    Tier,
    sources_of,
)
from services.kernel.errors import load_messages

load_messages(DATA / "messages.yaml")

__all__ = [
    "DATA",
    "KINDS",
    "LEVELS",
    "MAX_DIGITS",
    "MAX_PLACES",
    "SCHEMES",
    "BasicRequirement",
    "Basis",
    "Catalogue",
    "Category",
    "Check",
    "Defect",
    "Indicator",
    "Limits",
    "PassMark",
    "PerProduct",
    "Qualitative",
    "Quantitative",
    "RubricOption",
    "Scheme",
    "Source",
    "Tier",
    "catalogue",
    "check_at_start",
    "check_scheme",
    "collect",
    "format_number",
    "get_scheme",
    "limits",
    "parse_scheme",
    "read_scheme_file",
    "reload_schemes",
    "scheme_defects",
    "schemes",
    "sources_of",
]
