"""Evaluation use cases (评价): each loads, asks the domain (services/evaluation/domain.py) to
decide, stores and records its event in one transaction.

- ``drafts``: create (self path or institution path), read, list, fill in values, preview;
- ``evidence``: evidence files, stored once by their sha256;
- ``submission``: submit (frozen, scored, reported, signed, announced), the report read back,
  and any report verified against the published report keys;
- ``rescoring``: the held evaluations scored again under a new scheme version.

``from services.evaluation import handlers; handlers.create(...)`` reaches every use case.
"""

from __future__ import annotations

from services.evaluation.handlers.drafts import (
    create,
    get,
    of_engagement,
    of_unit,
    preview,
    scored_now,
    set_values,
    writable,
)
from services.evaluation.handlers.evidence import add_evidence, evidence
from services.evaluation.handlers.rescoring import rescore
from services.evaluation.handlers.submission import report_keys, report_of, submit, verify_report

__all__ = ["add_evidence", "create", "evidence", "get", "of_engagement", "of_unit", "preview",
           "report_keys", "report_of", "rescore", "scored_now", "set_values", "submit", "verify_report",
           "writable"]
