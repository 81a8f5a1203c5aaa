"""Scheme files are read within limits and checked at start, every defect of every file named
(issue 9 §2; services/evaluation/schemes/loading.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.evaluation import schemes
from services.evaluation.schemes import (
    SCHEMES,
    Limits,
    Qualitative,
    check_at_start,
    collect,
    get_scheme,
    limits,
    loading,
    read_scheme_file,
)
from tests.unit.test_schemes import BASE, write


def base(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load(BASE)
    data.update(changes)
    return data


@pytest.fixture
def operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An operator's folder (GL_SCHEMES_DIR), read afresh by the next start check."""
    folder = tmp_path / "operator"
    folder.mkdir()
    monkeypatch.setenv("GL_SCHEMES_DIR", str(folder))
    schemes.reload_schemes()
    yield folder
    schemes.reload_schemes()


# --- every defect of every file ---------------------------------------------------------------


def test_every_defect_of_every_file_is_collected(tmp_path: Path) -> None:
    two = base()
    two["total"] = 12                                            # a sum that does not add up
    two["categories"][0]["indicators"][0]["leading"] = 0.5       # baseline = leading
    write(tmp_path, two, "a-two-defects.yaml")
    write(tmp_path, "id: x\ncategories: [\n  - a: b\n", "b-not-yaml.yaml")
    write(tmp_path, base(id="good"), "c-good.yaml")
    write(tmp_path, base(id="good"), "d-same-version.yaml")
    write(tmp_path, "- a list\n", "e-a-list.yaml")
    found = collect([tmp_path])
    assert [(d.file, d.path) for d in found.defects] == [
        ("a-two-defects.yaml", "categories[0].indicators[0].leading"),
        ("a-two-defects.yaml", "total"),
        ("b-not-yaml.yaml", "line 3"),
        ("d-same-version.yaml", "version"),
        ("e-a-list.yaml", ""),
    ]
    assert "already defined in c-good.yaml" in found.defects[3].problem
    assert all(d.folder == str(tmp_path) for d in found.defects)
    assert list(found.schemes) == [("good", 1)]  # the good file is still read


def test_a_defect_reads_as_one_line_with_its_file_path_and_reason(tmp_path: Path) -> None:
    data = base()
    data["total"] = 12
    write(tmp_path, data, "s.yaml")
    (defect,) = collect([tmp_path]).defects
    assert defect.line() == (f"{tmp_path}/s.yaml: total: categories add up to 10, "
                             "the scheme says 12")


def test_a_missing_operator_folder_is_a_defect(tmp_path: Path) -> None:
    (defect,) = collect([tmp_path / "nowhere"]).defects
    assert defect.file == str(tmp_path / "nowhere") and defect.problem == "not a folder"


# --- limits -----------------------------------------------------------------------------------


def test_the_limits_are_data() -> None:
    assert limits() == Limits(max_bytes=1048576, max_nodes=200000)
    largest = max(path.stat().st_size for path in SCHEMES.glob("*.yaml"))
    assert largest < limits().max_bytes / 10


def test_an_oversized_file_is_refused_by_its_size_without_being_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as f:          # sparse: 50 MB on paper, nothing on disk
        f.write(b"id: huge\n")
        f.truncate(50 * 1024 * 1024)
    opened: list[Path] = []
    real_open = Path.open

    def spy(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(self)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    monkeypatch.setattr(Path, "read_text", lambda *a, **k: pytest.fail("read_text"))
    monkeypatch.setattr(Path, "read_bytes", lambda *a, **k: pytest.fail("read_bytes"))
    scheme, (defect,) = read_scheme_file(huge)
    assert scheme is None and huge not in opened
    assert defect.problem == ("file is 52428800 bytes, over the limit of 1048576 bytes; "
                              "not read")


def test_a_file_just_over_a_smaller_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, base())
    size = path.stat().st_size
    assert read_scheme_file(path, bounds=Limits(max_bytes=size, max_nodes=10**6))[0] is not None
    _, (defect,) = read_scheme_file(path, bounds=Limits(max_bytes=size - 1, max_nodes=10**6))
    assert "over the limit" in defect.problem


def test_an_alias_bomb_is_refused_before_it_is_built(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = write(tmp_path, "\n".join(lines) + "\n", "bomb.yaml")  # ~10^9 nodes expanded
    assert path.stat().st_size < 1000
    _, (defect,) = read_scheme_file(path)
    assert "YAML nodes (aliases included), over the limit of 200000" in defect.problem


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    _, (defect,) = read_scheme_file(write(tmp_path, "a: &x [1, *x]\n", "loop.yaml"))
    assert "an alias refers to a node that contains it" in defect.problem


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes("title_zh: 测试".encode("gb18030"))
    _, (defect,) = read_scheme_file(path)
    assert defect.problem.startswith("not UTF-8 text")


# --- duplicate keys (YAML keeps the last, silently) --------------------------------------------


def test_a_key_given_twice_is_a_defect_naming_its_line(tmp_path: Path) -> None:
    text = write(tmp_path, base()).read_text("utf-8")
    doubled = text.replace("total: 10\n", "total: 10\ntotal: 12\n", 1)
    assert doubled != text
    second = doubled.splitlines().index("total: 12") + 1
    scheme, (defect,) = read_scheme_file(write(tmp_path, doubled, "twice.yaml"))
    assert scheme is None
    assert defect.path == f"line {second}"
    assert defect.problem == ("not valid YAML: duplicate key 'total' "
                              f"(first given at line {second - 1})")


@pytest.mark.parametrize("text", ["a: {x: 1, x: 2}\n", "a:\n  - k: 1\n    j: 2\n    k: 3\n"],
                         ids=["flow-one-line", "nested-block"])
def test_a_key_given_twice_anywhere_is_a_defect(tmp_path: Path, text: str) -> None:
    _, (defect,) = read_scheme_file(write(tmp_path, text, "twice.yaml"))
    assert "duplicate key" in defect.problem


def test_a_key_overriding_a_merged_one_is_not_a_duplicate(tmp_path: Path) -> None:
    text = ("shared: &shared {x: 1, y: 2}\n"
            "a:\n  <<: *shared\n  x: 3\n")
    _, defects = read_scheme_file(write(tmp_path, text, "merge.yaml"))
    assert not any("duplicate" in d.problem for d in defects)


# --- unbounded figures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "figure", "problem"),
    [(("categories", 0, "indicators", 0, "baseline"), "9E+999999",
      "too large: at most 15 digits before the point"),
     (("total",), "1" + "0" * 15, "too large: at most 15 digits before the point"),
     (("pass_mark", "default"), "1E-999999", "too many decimal places: at most 6"),
     (("categories", 0, "indicators", 1, "rubric", 1, "fraction"), "0.9999999",
      "too many decimal places: at most 6"),
     (("categories", 0, "indicators", 0, "leading"), ".nan", "Input should be a finite number"),
     (("categories", 0, "indicators", 0, "leading"), "-.inf", "Input should be a finite number")],
    ids=["huge-baseline", "16-digit-total", "tiny-pass-mark", "fine-fraction", "nan", "inf"])
def test_a_figure_out_of_bounds_is_a_defect_in_one_short_line(
        tmp_path: Path, where: tuple[Any, ...], figure: str, problem: str) -> None:
    data = base()
    *parents, last = where
    item: Any = data
    for key in parents:
        item = item[key]
    item[last] = "FIGURE"
    text = yaml.safe_dump(data, allow_unicode=True).replace("FIGURE", figure)
    scheme, found = read_scheme_file(write(tmp_path, text, "bounds.yaml"))
    assert scheme is None
    path = ".".join(f"[{k}]" if isinstance(k, int) else str(k) for k in where).replace(".[", "[")
    assert [(d.path, d.problem) for d in found] == [(path, problem)]
    assert len(found[0].line()) < 200  # not a million digits in the log


def test_a_defect_quoting_a_huge_key_or_kind_is_still_one_short_line() -> None:
    data = base()
    data["categories"][0]["indicators"][0]["kind"] = "x" * 500_000
    data["sources"]["w" * 300_000] = {"provisional": True, "zh": "a", "en": "b", "ref": "c"}
    _, found = schemes.scheme_defects(data, file="huge.yaml")
    assert len(found) == 2
    assert all(len(d.line()) < 1000 and len(d.error().message("en")) < 1000 for d in found)
    assert any(d.problem.startswith("unknown kind 'xxx") and d.problem.endswith("...")
               for d in found)


def test_a_figure_within_bounds_loads(tmp_path: Path) -> None:
    data = base()
    data["categories"][0]["indicators"][0]["baseline"] = "0.500000"
    data["categories"][0]["indicators"][0]["leading"] = "0E+999999"  # zero, however written
    scheme, found = read_scheme_file(write(tmp_path, data))
    assert found == [] and scheme is not None
    indicator = scheme.categories[0].indicators[0]
    assert isinstance(indicator, schemes.Quantitative)
    assert indicator.leading == 0 and str(indicator.leading) == "0"


# --- file names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["scheme.yml", "scheme.YAML"])
def test_a_file_not_ending_in_yaml_is_a_defect_not_silently_ignored(tmp_path: Path,
                                                                    name: str) -> None:
    write(tmp_path, base(), name)
    found = collect([tmp_path])
    assert [(d.file, d.problem) for d in found.defects] == [
        (name, f"not read: a scheme file's name ends in .yaml, not .{name.split('.')[-1]}")]
    assert dict(found.schemes) == {}


def test_shared_rubrics_by_alias_are_still_allowed() -> None:
    chain = get_scheme("supply-chain-general")  # one rubric shared with &levels / *levels
    rubrics = [i.rubric for _, i in chain.indicators() if isinstance(i, Qualitative)]
    assert len(rubrics) == 17 and all(r == rubrics[0] for r in rubrics)


# --- the start check --------------------------------------------------------------------------


def test_the_start_check_names_every_defect_of_every_operator_file(operator: Path) -> None:
    bad = base(id="bad")
    bad["total"] = 12
    write(operator, bad, "bad.yaml")
    write(operator, "::: not yaml :::\n  - [", "broken.yaml")
    shipped_again = yaml.safe_load((SCHEMES / "gbt36132-2025.yaml").read_text("utf-8"))
    write(operator, shipped_again, "redefines.yaml")
    found = check_at_start()
    assert [(d.file, d.path) for d in found] == [
        ("bad.yaml", "total"), ("broken.yaml", "line 1"), ("redefines.yaml", "version")]
    assert "is shipped already" in found[2].problem


def test_a_new_version_in_the_operator_folder_is_loaded_at_start(operator: Path) -> None:
    write(operator, base(), "test-scheme.yaml")
    assert check_at_start() == ()
    assert get_scheme("test-scheme").version == 1


def test_after_start_the_schemes_are_held_never_parsed_again(
        operator: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_at_start() == ()
    held = schemes.schemes()

    def no_more(*args: object, **kwargs: object) -> None:
        raise AssertionError("a scheme file was read again")

    monkeypatch.setattr(loading, "read_scheme_file", no_more)
    for _ in range(3):
        assert get_scheme("gbt36132-2025", 1).version == 1
    assert schemes.schemes() is held
