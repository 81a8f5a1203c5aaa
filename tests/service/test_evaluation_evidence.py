"""Evidence (证明材料) use cases in-process: every upload under its own name and uploader, the
bytes stored once by sha256; refused when it is not what it says, only on a draft and only by
whoever may change it."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from services.evaluation import handlers
from services.evaluation.store import EvidenceBlob
from services.kernel import clock
from services.kernel.identity import Grant, Identity
from tests.service.conftest import UseCases
from tests.service.evaluation_world import (
    AUDITOR,
    ENGAGED,
    JIANGSU,
    OWNER,
    UNIT,
    T,
    code_of,
    fill,
    start,
    submit,
)
from tests.unit.conftest import T0

PDF = b"%PDF-1.4\n% evidence\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
COLLEAGUE = Identity("owner-2", (Grant("enterprise", T, org=UNIT.uscc),))  # same enterprise


def add(uc: UseCases, evaluation_id: str, *, as_: Identity = OWNER, **kwargs: Any) -> Any:
    fields = {"indicator_id": "energy_per_output", "filename": "能耗统计.pdf",
              "content_type": "application/pdf", "content": PDF, **kwargs}
    return uc(handlers.add_evidence, as_=as_, tenant=T, evaluation_id=evaluation_id, **fields)


def links(uc: UseCases, evaluation_id: str) -> list[Any]:
    """The evaluation's evidence, as the servicer reads it once the caller may see it."""
    return handlers.evidence(uc.rt, tenant=T, evaluation_id=evaluation_id)


def blobs(uc: UseCases) -> int:
    with uc.rt.db.session(T) as s:
        return len(list(s.exec(select(EvidenceBlob))))


def test_the_same_file_is_stored_once_and_linked_per_indicator(evaluation: UseCases) -> None:
    draft = start(evaluation)
    first = add(evaluation, draft.id)
    other = add(evaluation, draft.id, indicator_id="water_reuse")
    assert len(first.sha256) == 64 and other.sha256 == first.sha256
    add(evaluation, start(evaluation, request_id="r2").id)     # another draft, the same file
    assert blobs(evaluation) == 1
    assert [(link.indicator_id, blob.size) for link, blob in links(evaluation, draft.id)] == [
        ("energy_per_output", len(PDF)), ("water_reuse", len(PDF))]
    assert evaluation.recorded(T) == []


def test_every_upload_keeps_its_own_name_and_uploader(evaluation: UseCases,
                                                      frozen_clock: Path) -> None:
    """Issue 9 §3: the same bytes under a second name came back under the first name."""
    draft = start(evaluation)
    first = add(evaluation, draft.id)
    clock.set_clock(frozen_clock, at=T0 + timedelta(minutes=5))
    second = add(evaluation, draft.id, as_=COLLEAGUE, filename="改名.pdf")
    assert (second.filename, second.uploaded_by, second.sha256) == (
        "改名.pdf", COLLEAGUE.subject, first.sha256)
    assert blobs(evaluation) == 1                               # the bytes, once
    assert [(link.filename, link.uploaded_by, link.uploaded_at, blob.sha256)
            for link, blob in links(evaluation, draft.id)] == [
        ("改名.pdf", COLLEAGUE.subject, T0 + timedelta(minutes=5), first.sha256),
        ("能耗统计.pdf", OWNER.subject, T0, first.sha256)]


def test_the_same_name_again_is_a_retry_of_the_same_upload(evaluation: UseCases,
                                                           frozen_clock: Path) -> None:
    draft = start(evaluation)
    first = add(evaluation, draft.id)
    clock.set_clock(frozen_clock, at=T0 + timedelta(hours=1))
    again = add(evaluation, draft.id, as_=COLLEAGUE)            # same bytes, name, indicator
    assert (again.uploaded_by, again.uploaded_at) == (OWNER.subject, T0)  # the first kept
    assert [(link.filename, link.uploaded_by) for link, _ in links(evaluation, draft.id)] == [
        (first.filename, OWNER.subject)]
    assert blobs(evaluation) == 1


def test_the_report_lists_every_upload_by_its_own_name(evaluation: UseCases) -> None:
    draft = start(evaluation)
    add(evaluation, draft.id)
    add(evaluation, draft.id, as_=COLLEAGUE, filename="改名.pdf")
    fill(evaluation, draft.id)
    submit(evaluation, draft.id)
    body = evaluation(handlers.report_of, as_=OWNER, tenant=T, evaluation_id=draft.id,
                      fmt="json")[0]
    (line,) = [i for i in json.loads(body)["indicators"] if i["id"] == "energy_per_output"]
    sha = hashlib.sha256(PDF).hexdigest()
    assert sorted((e["filename"], e["sha256"]) for e in line["evidence"]) == [
        ("改名.pdf", sha), ("能耗统计.pdf", sha)]


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
