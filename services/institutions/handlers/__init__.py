"""Institutions use cases (SPEC §9): load → decide (``domain``) → store → record, by sub-domain.

Every record lives in the national tenant 000000 and every event goes into the national chain
(``common``). The consumers of other services' events live in ``services.institutions.events``.
"""

from services.institutions.handlers.directory import directory, track_record
from services.institutions.handlers.engagements import (
    cancel,
    cap_usage,
    check_engagement,
    engage,
    get_engagement,
    list_engagements,
)
from services.institutions.handlers.filings import file, revoke_filing
from services.institutions.handlers.profiles import get, list_institutions, register, verify
from services.institutions.handlers.reports import list_work_reports, submit_work_report
from services.institutions.handlers.sanctions import sanction

__all__ = [
    "cancel", "cap_usage", "check_engagement", "directory", "engage", "file", "get",
    "get_engagement", "list_engagements", "list_institutions", "list_work_reports", "register",
    "revoke_filing", "sanction", "submit_work_report", "track_record", "verify",
]
