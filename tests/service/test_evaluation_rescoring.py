"""Re-scoring use cases in-process: an operator's new scheme version (a stricter pass mark), and
officials seeing who would now fall below the mark, within their jurisdiction, changing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.evaluation import handlers, schemes
from services.evaluation.handlers import rescoring
from services.evaluation.store import Evaluation
from services.kernel import clock
from services.kernel.errors import DomainError
from tests.service.conftest import UseCases
from tests.service.evaluation_world import (
    JIANGSU,
    NANJING,
    OWNER,
    SUZHOU,
    VETOED,
    T,
    code_of,
    fill,
    start,
    submit,
)
from tests.unit.conftest import T0


def next_version() -> int:
    """The number an operator's new version of GB/T 36132-2025 takes: after every shipped one."""
    shipped = [yaml.safe_load(f.read_text("utf-8")) for f in schemes.SCHEMES.glob("*.yaml")]
    return 1 + max(d["version"] for d in shipped if d.get("id") == "gbt36132-2025")


NEW = next_version()


def operator_version(folder: Path, monkeypatch: pytest.MonkeyPatch, pass_mark: str) -> None:
    """Version ``NEW`` of GB/T 36132-2025 — version 1's figures with ``pass_mark`` (YAML lines in
    place of ``default: 60``) — arrives as an operator's file in ``folder``."""
    shipped = (schemes.SCHEMES / "gbt36132-2025.yaml").read_text("utf-8")
    folder.mkdir()
    (folder / "new.yaml").write_text(
        shipped.replace("\nversion: 1\n", f"\nversion: {NEW}\n", 1)
        .replace("  default: 60 ", f"  {pass_mark} ", 1), "utf-8")
    monkeypatch.setenv("GL_SCHEMES_DIR", str(folder))
    schemes.reload_schemes()


@pytest.fixture(autouse=True)
def stricter_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A new version with a pass mark of 75."""
    operator_version(tmp_path / "schemes", monkeypatch, "default: 75")
    yield
    schemes.reload_schemes()


def submitted(uc: UseCases, request_id: str = "r1", **kwargs: object) -> Evaluation:
    draft = start(uc, request_id=request_id)
    fill(uc, draft.id)
    return submit(uc, draft.id, **kwargs)


def test_a_stricter_version_shows_who_falls_below_the_mark(evaluation: UseCases) -> None:
    held = submitted(evaluation)
    evaluation.recorded(T)
    (row,) = evaluation(handlers.rescore, as_=JIANGSU, tenant=T, scheme_id="gbt36132-2025",
                        to_version=NEW, unit_ids=[])
    assert (row.evaluation_id, row.from_version, row.old_total, row.new_total) == (
        held.id, 1, "71.22", "71.22")
    assert (row.old_passed, row.new_passed, row.now_below_mark) == (True, False, True)
    assert row.changes == () and row.not_carried == ()
    again = evaluation(handlers.get, as_=OWNER, tenant=T, evaluation_id=held.id)
    assert (again.scheme_version, again.passed) == (1, True)   # pinned, unchanged
    assert evaluation.recorded(T) == []


def test_a_vetoed_evaluation_was_not_passed_and_does_not_fall(evaluation: UseCases) -> None:
    submitted(evaluation, veto=VETOED)
    (row,) = evaluation(handlers.rescore, as_=JIANGSU, tenant=T, scheme_id="gbt36132-2025",
                        to_version=NEW, unit_ids=[])
    assert (row.old_passed, row.new_passed, row.now_below_mark) == (False, False, False)


def test_rescoring_is_for_officials_within_their_jurisdiction(evaluation: UseCases) -> None:
    held = submitted(evaluation)
    start(evaluation, request_id="still-a-draft")

    def rows(who, unit_ids=()):  # type: ignore[no-untyped-def]
        return [r.evaluation_id for r in evaluation(
            handlers.rescore, as_=who, tenant=T, scheme_id="gbt36132-2025", to_version=NEW,
            unit_ids=list(unit_ids))]

    assert rows(NANJING) == [held.id] and rows(SUZHOU) == []
    assert rows(JIANGSU, [held.unit_id]) == [held.id] and rows(JIANGSU, ["another"]) == []
    assert code_of(evaluation, handlers.rescore, as_=OWNER, tenant=T, scheme_id="gbt36132-2025",
                   to_version=NEW, unit_ids=[]) == "auth.forbidden_role"
    assert code_of(evaluation, handlers.rescore, as_=JIANGSU, tenant=T,
                   scheme_id="gbt36132-2025", to_version=NEW + 1, unit_ids=[]) == "scheme.unknown"


def test_rows_stream_from_reads_in_batches_in_submission_order(
        evaluation: UseCases, frozen_clock: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9 §4: every row was built in memory before the first was answered. Now the handler
    returns an iterator: each row is scored as it is asked for, from a read of ``BATCH``
    evaluations at a time; with more evaluations than a batch, every one comes out once, in
    submission order."""
    monkeypatch.setattr(rescoring, "BATCH", 2)
    held = []
    for i in range(5):
        clock.set_clock(frozen_clock, at=T0 + timedelta(minutes=10 - i))  # ids don't sort by time
        held.append(submitted(evaluation, request_id=f"r{i}"))
    by_time = [e.id for e in sorted(held, key=lambda e: e.submitted_at)]
    assert by_time == [e.id for e in reversed(held)]
    scored: list[str] = []
    real = rescoring.domain.rescore

    def counted(new, h):  # type: ignore[no-untyped-def]
        scored.append(h.evaluation_id)
        return real(new, h)

    monkeypatch.setattr(rescoring.domain, "rescore", counted)
    rows = evaluation(handlers.rescore, as_=JIANGSU, tenant=T, scheme_id="gbt36132-2025",
                      to_version=NEW, unit_ids=[])
    assert scored == []                          # nothing read or scored before it is asked for
    first = next(rows)
    assert scored == [first.evaluation_id] == by_time[:1]
    assert [first.evaluation_id, *(r.evaluation_id for r in rows)] == by_time
    assert scored == by_time                     # each scored once


def test_evaluations_submitted_at_the_same_instant_are_paged_by_id(
        evaluation: UseCases, frozen_clock: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Review M2: pages follow the key ``(submitted_at, id)``. Five evaluations submitted at the
    same instant (the clock frozen), read two at a time, each come out once, in id order; a
    page ending inside a tie neither skips nor repeats the rest of the tie."""
    monkeypatch.setattr(rescoring, "BATCH", 2)
    held = [submitted(evaluation, request_id=f"r{i}") for i in range(5)]
    assert len({e.submitted_at for e in held}) == 1
    rows = evaluation(handlers.rescore, as_=JIANGSU, tenant=T, scheme_id="gbt36132-2025",
                      to_version=NEW, unit_ids=[])
    assert [r.evaluation_id for r in rows] == sorted(e.id for e in held)


def test_no_database_session_is_open_while_a_row_is_out(
        evaluation: UseCases, frozen_clock: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Review M2: the stream held one session from its first row to its last, however slowly the
    caller read. Now each page is read in a short session of its own, closed before any of its
    rows is handed out, and none is open while the caller holds a row. An evaluation submitted
    mid-stream, after the rows read so far, comes out too, once."""
    monkeypatch.setattr(rescoring, "BATCH", 2)
    for i in range(5):
        clock.set_clock(frozen_clock, at=T0 + timedelta(minutes=i))
        submitted(evaluation, request_id=f"r{i}")
    open_now: list[str] = []
    opened: list[str] = []
    real = evaluation.rt.db.session

    @contextmanager
    def watched(tenant: str, **kwargs: Any) -> Iterator[Any]:
        opened.append(tenant)
        open_now.append(tenant)
        try:
            with real(tenant, **kwargs) as s:
                yield s
        finally:
            open_now.pop()

    monkeypatch.setattr(evaluation.rt.db, "session", watched)
    rows = evaluation(handlers.rescore, as_=JIANGSU, tenant=T, scheme_id="gbt36132-2025",
                      to_version=NEW, unit_ids=[])
    seen = []
    for row in rows:
        assert open_now == []                    # no session open while the caller has a row
        seen.append(row.evaluation_id)
        if len(seen) == 3:                       # mid-stream: one more is submitted
            monkeypatch.setattr(evaluation.rt.db, "session", real)
            clock.set_clock(frozen_clock, at=T0 + timedelta(hours=1))
            late = submitted(evaluation, request_id="late")
            monkeypatch.setattr(evaluation.rt.db, "session", watched)
    assert len(seen) == 6 and len(set(seen)) == 6 and seen[-1] == late.id
    assert len(opened) == 4                      # pages of 2, 2, 2 (the late one last), none


def test_a_refused_rescore_is_refused_before_any_row(evaluation: UseCases) -> None:
    """The refusals are decided when the call is made, not when the first row is asked for: the
    servicer turns them into a clean status before the stream starts."""
    submitted(evaluation)
    for who, version, code in ((OWNER, NEW, "auth.forbidden_role"),
                               (JIANGSU, 0, "number.out_of_range"),
                               (JIANGSU, NEW + 1, "scheme.unknown")):
        with pytest.raises(DomainError) as caught:
            evaluation(handlers.rescore, as_=who, tenant=T, scheme_id="gbt36132-2025",
                       to_version=version, unit_ids=[])   # raised by the call itself
        assert caught.value.code == code


def test_an_evaluation_is_rescored_against_the_mark_of_its_level(
        evaluation: UseCases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A municipal evaluation (71.22) under a version whose default mark is 75 but whose
    municipal mark is 70 still passes: the level it was for is the level it is judged at."""
    operator_version(tmp_path / "levelled", monkeypatch, "default: 75\n  municipal: 70")
    draft = start(evaluation, level="municipal")
    fill(evaluation, draft.id)
    held = submit(evaluation, draft.id)
    (row,) = evaluation(handlers.rescore, as_=JIANGSU, tenant=T, scheme_id="gbt36132-2025",
                        to_version=NEW, unit_ids=[])
    assert (row.evaluation_id, row.new_total, row.old_passed, row.new_passed) == (
        held.id, "71.22", True, True)
    provincial = submitted(evaluation, request_id="r-default")   # no level: the default mark
    rows = {r.evaluation_id: r for r in evaluation(
        handlers.rescore, as_=JIANGSU, tenant=T, scheme_id="gbt36132-2025", to_version=NEW,
        unit_ids=[])}
    assert rows[provincial.id].new_passed is False and rows[held.id].new_passed is True
