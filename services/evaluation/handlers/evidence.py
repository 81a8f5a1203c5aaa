"""Evidence (证明材料): uploads backing an indicator of a draft, each under its own name and
uploader, the bytes stored once by their sha256."""

from __future__ import annotations

from services.evaluation import domain, store
from services.evaluation.handlers.common import draft
from services.evaluation.schemes import get_scheme
from services.evaluation.store import EvidenceBlob, EvidenceLink
from services.kernel import clock
from services.kernel.errors import refuse
from services.kernel.identity import Identity
from services.kernel.runtime import Runtime


def evidence(rt: Runtime, *, tenant: str,
             evaluation_id: str) -> list[tuple[EvidenceLink, EvidenceBlob]]:
    """The evaluation's evidence; the caller has already been allowed to see the evaluation."""
    with rt.db.session(tenant) as s:
        return list(store.evidence(session=s, evaluation_id=evaluation_id))


def add_evidence(rt: Runtime, *, ident: Identity, tenant: str, evaluation_id: str,
                 indicator_id: str, filename: str, content_type: str,
                 content: bytes) -> EvidenceLink:
    """Keep an upload to an indicator of a draft under its own name, uploader and time, its bytes
    stored once by their sha256 (the same bytes under another name, or for another indicator,
    are another upload of the one blob). The same bytes under the same name for the same
    indicator are the same upload, a retry: the link already there, its first uploader kept."""
    accepted = domain.evidence_file(filename=filename, content_type=content_type,
                                    content=content, limits=domain.evidence_rules())
    with rt.db.session(tenant, write=True) as s:
        evaluation = draft(s, ident, tenant, evaluation_id)
        scheme = get_scheme(evaluation.scheme_id, evaluation.scheme_version)
        refuse(domain.unknown_indicator(scheme, indicator_id))
        now = clock.now()
        return store.keep_upload(
            session=s,
            blob=EvidenceBlob(sha256=accepted.sha256, size=accepted.size,
                              content_type=accepted.content_type, content=content,
                              created_at=now),
            link=EvidenceLink(evaluation_id=evaluation.id, indicator_id=indicator_id,
                              sha256=accepted.sha256, filename=accepted.filename,
                              uploaded_by=ident.subject, uploaded_at=now))
