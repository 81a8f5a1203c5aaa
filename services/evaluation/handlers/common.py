"""Loading an evaluation for a caller: found, and the caller allowed to read (or change) it.

A self-evaluation (自评价) is written by the unit's enterprise; an institution's evaluation
(第三方机构评价) by the engaged institution alone. Both are read by the unit's enterprise, city,
province and the ministry, and an institution's also by the institution.
"""

from __future__ import annotations

from sqlmodel import Session

from services.evaluation import domain, store
from services.evaluation.store import Evaluation
from services.kernel.errors import found, refuse
from services.kernel.identity import Identity, authorize


def load(s: Session, ident: Identity, tenant: str, evaluation_id: str, *,
         write: bool = False) -> Evaluation:
    """The evaluation, if the caller may read it (``write``: change it). A caller who may read
    no evaluation here is refused as such before being told one does not exist."""
    evaluation = store.get(session=s, evaluation_id=evaluation_id, for_update=write)
    if evaluation is None:
        authorize(ident, tenant, (*domain.READ, "institution"), write=write)
    evaluation = found(evaluation, "evaluation.not_found", evaluation_id=evaluation_id)
    authorize_on(ident, tenant, evaluation, write=write)
    return evaluation


def authorize_on(ident: Identity, tenant: str, evaluation: Evaluation, *, write: bool) -> None:
    """The caller may read (``write``: change) ``evaluation``, or a refusal."""
    path, institution = evaluation.path, evaluation.institution_uscc
    if domain.institution_may_act(ident.in_tenant(tenant, write=write), path=path,
                                  institution_uscc=institution):
        return
    refuse(domain.institution_writes(path=path, institution_uscc=institution, write=write))
    authorize(ident, tenant, domain.OWN if write else domain.READ,
              location=evaluation.unit_location, org=evaluation.unit_uscc, write=write)


def draft(s: Session, ident: Identity, tenant: str, evaluation_id: str) -> Evaluation:
    """The evaluation, locked, if the caller may change it and it is still a draft."""
    evaluation = load(s, ident, tenant, evaluation_id, write=True)
    refuse(domain.frozen(status=evaluation.status, evaluation_id=evaluation.id))
    return evaluation
