"""An official figure arrives as a new scheme version (issue 9 §1): evaluations pinned to a
provisional version keep their mark; re-scoring shows what changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from services.evaluation import handlers, schemes
from services.evaluation.schemes import get_scheme
from services.evaluation.store import Evaluation
from tests.service.conftest import UseCases
from tests.service.evaluation_world import JIANGSU, OWNER, T, fill, start, submit


def next_version() -> int:
    shipped = [yaml.safe_load(f.read_text("utf-8")) for f in schemes.SCHEMES.glob("*.yaml")]
    return 1 + max(d["version"] for d in shipped if d.get("id") == "gbt36132-2025")


OFFICIAL = next_version()


@pytest.fixture(autouse=True)
def official_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Version 1's rows, now with every figure from the official text, in the operator's folder;
    the official text sets one leading value differently (单位产值碳排放量: 0.2 → 0.3)."""
    raw = yaml.safe_load((schemes.SCHEMES / "gbt36132-2025.yaml").read_text("utf-8"))
    raw["version"] = OFFICIAL
    raw["sources"] = {"gbt36132-2025": {
        "provisional": False, "zh": "GB/T 36132-2025 正式文本", "en": "GB/T 36132-2025, the text",
        "ref": "GB/T 36132-2025 表 1 [V]"}}
    for _, item in _items(raw):
        item["source"] = "gbt36132-2025"
    carbon = next(i for c in raw["categories"] for i in c["indicators"]
                  if i["id"] == "carbon_per_output")
    carbon["leading"] = 0.3
    folder = tmp_path / "schemes"
    folder.mkdir()
    (folder / "gbt36132-2025-official.yaml").write_text(
        yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    monkeypatch.setenv("GL_SCHEMES_DIR", str(folder))
    schemes.reload_schemes()
    assert schemes.check_at_start() == ()
    yield
    schemes.reload_schemes()


def _items(raw: dict) -> Iterator[tuple[str, dict]]:
    yield "", raw
    yield "pass_mark", raw["pass_mark"]
    for category in raw["categories"]:
        yield category["id"], category
        for indicator in category["indicators"]:
            yield indicator["id"], indicator


def submitted(uc: UseCases) -> Evaluation:
    draft = start(uc)                       # pinned to version 1: every figure provisional
    fill(uc, draft.id)
    return submit(uc, draft.id)


def test_the_official_version_is_not_provisional() -> None:
    assert get_scheme("gbt36132-2025", 1).provisional
    assert not get_scheme("gbt36132-2025", OFFICIAL).provisional
    assert get_scheme("gbt36132-2025").version == OFFICIAL  # the latest


def test_an_evaluation_pinned_to_a_provisional_version_keeps_its_mark(evaluation: UseCases) -> None:
    held = submitted(evaluation)
    result = json.loads(held.result_json)
    assert result["provisional"] is True and result["total"] == "71.22"
    assert all(line["provisional"] for line in result["indicators"])
    again = evaluation(handlers.get, as_=OWNER, tenant=T, evaluation_id=held.id)
    assert again.scheme_version == 1 and json.loads(again.result_json)["provisional"] is True


def test_rescoring_to_the_official_version_shows_what_changes(evaluation: UseCases) -> None:
    held = submitted(evaluation)
    (row,) = list(evaluation(handlers.rescore, as_=JIANGSU, tenant=T, scheme_id="gbt36132-2025",
                             to_version=OFFICIAL, unit_ids=[]))
    assert (row.evaluation_id, row.from_version) == (held.id, 1)
    assert (row.from_provisional, row.to_provisional) == (True, False)
    assert (row.old_total, row.new_total) == ("71.22", "73.22")  # carbon 6.00 → 8.00
    changes = {c.indicator_id: c for c in row.changes}
    assert len(changes) == 17  # every indicator: its figures are official now
    assert all(c.was_provisional and not c.now_provisional for c in changes.values())
    carbon = changes["carbon_per_output"]
    assert (carbon.old_points, carbon.new_points, carbon.fell) == ("6.00", "8.00", False)
    water = changes["water_reuse"]
    assert water.old_points == water.new_points == "4.90"
    again = evaluation(handlers.get, as_=OWNER, tenant=T, evaluation_id=held.id)
    assert (again.scheme_version, again.total) == (1, "71.22")   # the pinned mark is kept


def test_rescoring_to_the_corrected_structure_names_what_cannot_be_carried(
        evaluation: UseCases) -> None:
    submitted(evaluation)
    (row,) = list(evaluation(handlers.rescore, as_=JIANGSU, tenant=T, scheme_id="gbt36132-2025",
                             to_version=2, unit_ids=[]))
    assert (row.from_provisional, row.to_provisional) == (True, True)
    # gone, or now in other units, or needing a basis (the renewable share is tiered)
    assert set(row.not_carried) == {"energy_per_output", "carbon_per_output", "renewable_share",
                                    "material_saving", "water_per_output", "pollutant_vs_permit",
                                    "output_per_land"}
