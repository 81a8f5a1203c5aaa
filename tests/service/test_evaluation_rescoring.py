"""Re-scoring use cases in-process: an operator's new scheme version (a stricter pass mark), and
officials seeing who would now fall below the mark, within their jurisdiction, changing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.evaluation import handlers, schemes
from services.evaluation.store import Evaluation
from tests.service.conftest import UseCases
from tests.service.evaluation_world import (
    JIANGSU,
    NANJING,
    OWNER,
    SUZHOU,
    T,
    VETOED,
    code_of,
    fill,
    start,
    submit,
)


@pytest.fixture(autouse=True)
def version_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """GB/T 36132-2025 version 2, with a pass mark of 75, arrives as an operator's file."""
    shipped = (schemes.SCHEMES / "gbt36132-2025.yaml").read_text("utf-8")
    folder = tmp_path / "schemes"
    folder.mkdir()
    (folder / "v2.yaml").write_text(shipped.replace("\nversion: 1\n", "\nversion: 2\n", 1)
                                    .replace("  default: 60 ", "  default: 75 ", 1), "utf-8")
    monkeypatch.setenv("GL_SCHEMES_DIR", str(folder))
    schemes._shipped.cache_clear()
    yield
    schemes._shipped.cache_clear()


def submitted(uc: UseCases, request_id: str = "r1", **kwargs: object) -> Evaluation:
    draft = start(uc, request_id=request_id)
    fill(uc, draft.id)
    return submit(uc, draft.id, **kwargs)


def test_a_stricter_version_shows_who_falls_below_the_mark(evaluation: UseCases) -> None:
    held = submitted(evaluation)
    evaluation.recorded(T)
    (row,) = evaluation(handlers.rescore, as_=JIANGSU, tenant=T, scheme_id="gbt36132-2025",
                        to_version=2, unit_ids=[])
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
                        to_version=2, unit_ids=[])
    assert (row.old_passed, row.new_passed, row.now_below_mark) == (False, False, False)


def test_rescoring_is_for_officials_within_their_jurisdiction(evaluation: UseCases) -> None:
    held = submitted(evaluation)
    start(evaluation, request_id="still-a-draft")

    def rows(who, unit_ids=()):  # type: ignore[no-untyped-def]
        return [r.evaluation_id for r in evaluation(
            handlers.rescore, as_=who, tenant=T, scheme_id="gbt36132-2025", to_version=2,
            unit_ids=list(unit_ids))]

    assert rows(NANJING) == [held.id] and rows(SUZHOU) == []
    assert rows(JIANGSU, [held.unit_id]) == [held.id] and rows(JIANGSU, ["another"]) == []
    assert code_of(evaluation, handlers.rescore, as_=OWNER, tenant=T, scheme_id="gbt36132-2025",
                   to_version=2, unit_ids=[]) == "auth.forbidden_role"
    assert code_of(evaluation, handlers.rescore, as_=JIANGSU, tenant=T,
                   scheme_id="gbt36132-2025", to_version=3, unit_ids=[]) == "scheme.unknown"
