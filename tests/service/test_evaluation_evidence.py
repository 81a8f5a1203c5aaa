"""Evidence (证明材料) use cases in-process: stored once by sha256, refused when it is not what
it says, only on a draft and only by whoever may change it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from services.evaluation import handlers
from services.evaluation.store import EvidenceBlob
from services.kernel.identity import Identity
from tests.service.conftest import UseCases
from tests.service.evaluation_world import (
    AUDITOR,
    ENGAGED,
    JIANGSU,
    OWNER,
    T,
    code_of,
    fill,
    start,
    submit,
)

PDF = b"%PDF-1.4\n% evidence\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def add(uc: UseCases, evaluation_id: str, *, as_: Identity = OWNER, **kwargs: Any) -> Any:
    fields = {"indicator_id": "energy_per_output", "filename": "能耗统计.pdf",
              "content_type": "application/pdf", "content": PDF, **kwargs}
    return uc(handlers.add_evidence, as_=as_, tenant=T, evaluation_id=evaluation_id, **fields)


def links(uc: UseCases, evaluation_id: str) -> list[Any]:
    """The evaluation's evidence, as the servicer reads it once the caller may see it."""
    return handlers.evidence(uc.rt, tenant=T, evaluation_id=evaluation_id)


def test_the_same_file_is_stored_once_and_linked_per_indicator(evaluation: UseCases) -> None:
    draft = start(evaluation)
    first = add(evaluation, draft.id)
    again = add(evaluation, draft.id, filename="改名.pdf")   # the same bytes, the same indicator
    other = add(evaluation, draft.id, indicator_id="water_reuse")
    assert len(first.sha256) == 64 and again.sha256 == first.sha256 == other.sha256
    assert again.filename == "能耗统计.pdf"                    # the link already there
    add(evaluation, start(evaluation, request_id="r2").id)     # another draft, the same file
    with evaluation.rt.db.session(T) as s:
        assert len(list(s.exec(select(EvidenceBlob)))) == 1
    assert [(link.indicator_id, blob.size) for link, blob in links(evaluation, draft.id)] == [
        ("energy_per_output", len(PDF)), ("water_reuse", len(PDF))]
    assert evaluation.recorded(T) == []


def test_an_image_is_accepted_by_its_name_and_its_first_bytes(evaluation: UseCases) -> None:
    link = add(evaluation, start(evaluation).id, filename="现场.PNG", content_type="image/png",
               content=PNG)
    assert link.filename == "现场.PNG"


@pytest.mark.parametrize("changes, expected", [
    ({"content": b""}, "evidence.empty"),
    ({"content": b"%PDF-" + b"0" * (10 * 2**20)}, "evidence.too_large"),
    ({"filename": "x.exe", "content_type": "application/octet-stream", "content": b"MZ"},
     "evidence.type"),
    ({"filename": "x.png"}, "evidence.type"),                 # a PDF named as an image
    ({"content": b"MZ\x90\x00 not a pdf"}, "evidence.content_mismatch"),
    ({"filename": "长" * 197 + ".pdf"}, "text.too_long"),
    ({"indicator_id": "nope"}, "value.unknown_indicator"),
])
def test_a_file_that_is_not_what_it_says_is_refused(evaluation: UseCases,
                                                      changes: dict[str, Any],
                                                      expected: str) -> None:
    draft = start(evaluation)
    assert code_of(evaluation, handlers.add_evidence, as_=OWNER, tenant=T,
                   evaluation_id=draft.id, **{"indicator_id": "energy_per_output",
                                              "filename": "a.pdf",
                                              "content_type": "application/pdf",
                                              "content": PDF, **changes}) == expected
    assert links(evaluation, draft.id) == []


def test_evidence_goes_on_a_draft_by_whoever_may_change_it(evaluation: UseCases) -> None:
    draft = start(evaluation)
    assert code_of(evaluation, handlers.add_evidence, as_=JIANGSU, tenant=T,
                   evaluation_id=draft.id, indicator_id="energy_per_output", filename="a.pdf",
                   content_type="application/pdf", content=PDF) == "auth.forbidden_role"
    theirs = start(evaluation, as_=AUDITOR, engagement=ENGAGED)
    assert add(evaluation, theirs.id, as_=AUDITOR).sha256
    assert code_of(evaluation, handlers.add_evidence, as_=OWNER, tenant=T,
                   evaluation_id=theirs.id, indicator_id="energy_per_output", filename="a.pdf",
                   content_type="application/pdf",
                   content=PDF) == "evaluation.institution_writes"
    fill(evaluation, draft.id)
    submit(evaluation, draft.id)
    assert code_of(evaluation, handlers.add_evidence, as_=OWNER, tenant=T,
                   evaluation_id=draft.id, indicator_id="energy_per_output", filename="a.pdf",
                   content_type="application/pdf", content=PDF) == "evaluation.frozen"
