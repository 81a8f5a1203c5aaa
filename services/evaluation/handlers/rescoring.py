"""Re-scoring under a new scheme version (重新评分): read-only, from the data held."""

from __future__ import annotations

import json

from services.evaluation import domain, store
from services.evaluation.schemes import get_scheme
from services.kernel.errors import MAX_VERSION, range_refusal, refuse
from services.kernel.identity import Identity, visible_scope
from services.kernel.runtime import Runtime


def rescore(rt: Runtime, *, ident: Identity, tenant: str, scheme_id: str, to_version: int,
            unit_ids: list[str]) -> list[domain.RescoreRow]:
    """Score the submitted evaluations of ``scheme_id`` again under ``to_version`` from the data
    held, and say, indicator by indicator, who would now fall below the mark. Officials see the
    evaluations of their jurisdiction only; nothing is changed."""
    scope = visible_scope(ident, tenant, ("city", "province", "ministry"))
    refuse(range_refusal(to_version, "to_version", 1, MAX_VERSION))
    new = get_scheme(scheme_id, to_version)
    wanted = set(unit_ids)
    with rt.db.session(tenant) as s:
        held = [e for e in store.submitted_of(session=s, scheme_id=scheme_id)
                if (not wanted or e.unit_id in wanted)
                and e.unit_location.startswith(scope.location_prefix)]
    return [domain.rescore(new, domain.Held(
        evaluation_id=e.id, unit_id=e.unit_id, scheme_version=e.scheme_version,
        values=json.loads(e.values_json), basic=json.loads(e.basic_json),
        result=json.loads(e.result_json), vetoed=e.vetoed)) for e in held]
