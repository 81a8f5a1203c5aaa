"""Re-scoring under a new scheme version (重新评分): read-only, from the data held, streamed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from services.evaluation import domain, store
from services.evaluation.schemes import Scheme, get_scheme
from services.kernel.errors import MAX_VERSION, range_refusal, refuse
from services.kernel.identity import Identity, visible_scope
from services.kernel.runtime import Runtime

BATCH = 200  # submitted evaluations read from the database at a time


def rescore(rt: Runtime, *, ident: Identity, tenant: str, scheme_id: str, to_version: int,
            unit_ids: list[str]) -> Iterator[domain.RescoreRow]:
    """Score the submitted evaluations of ``scheme_id`` again under ``to_version`` from the data
    held, and say, indicator by indicator, who would now fall below the mark. Officials see the
    evaluations of their jurisdiction only; nothing is changed.

    The call is checked (who, which version, which scheme) here, before any row: a refusal is a
    clean error, never a broken stream. The rows then come one at a time, in submission order,
    from a read of ``BATCH`` evaluations at a time (a short session per read), so memory stays
    flat however many are held and no session stays open while the stream waits."""
    scope = visible_scope(ident, tenant, ("city", "province", "ministry"))
    refuse(range_refusal(to_version, "to_version", 1, MAX_VERSION))
    new = get_scheme(scheme_id, to_version)
    return _rows(rt, tenant=tenant, new=new, location_prefix=scope.location_prefix,
                 unit_ids=frozenset(unit_ids))


def _rows(rt: Runtime, *, tenant: str, new: Scheme, location_prefix: str,
          unit_ids: frozenset[str]) -> Iterator[domain.RescoreRow]:
    """The rows, a page of ``BATCH`` evaluations at a time, each page read in a short session of
    its own, closed before any of its rows is scored or answered: a slow reader of the stream
    holds no database session. Pages follow the key ``(submitted_at, id)`` of the last row read,
    so an evaluation submitted meanwhile comes later or not at all, never twice."""
    after: tuple[datetime, str] | None = None
    while True:
        with rt.db.session(tenant) as s:
            page = store.submitted_of(session=s, scheme_id=new.id,
                                      location_prefix=location_prefix, after=after, limit=BATCH)
        for e in page:
            if unit_ids and e.unit_id not in unit_ids:
                continue
            yield domain.rescore(new, domain.Held(
                evaluation_id=e.id, unit_id=e.unit_id, scheme_version=e.scheme_version,
                values=json.loads(e.values_json), basic=json.loads(e.basic_json),
                result=json.loads(e.result_json), vetoed=e.vetoed, level=e.level))
        if len(page) < BATCH:
            return
        after = (page[-1].submitted_at, page[-1].id)
