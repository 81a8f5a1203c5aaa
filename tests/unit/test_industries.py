"""Tables two services share, in the kernel: GB/T 4754 industries (services/kernel/industries.py)
and the veto table's names (services/kernel/veto.py)."""

from __future__ import annotations

from services.kernel import industries, veto


def test_the_97_divisions_and_20_sections_are_known() -> None:
    assert len(industries.divisions()) == 97 and len(industries.sections()) == 20
    manufacturing = industries.sections()["C"]
    assert (manufacturing.name_zh, manufacturing.first, manufacturing.last) == (
        "制造业", "13", "43")
    assert all(d.section == "C" for code, d in industries.divisions().items()
               if "13" <= code <= "43")


def test_a_class_is_named_by_its_division() -> None:
    assert industries.industry_name("3971") == "计算机、通信和其他电子设备制造业"
    assert industries.division_of("2611").name_zh == "化学原料和化学制品制造业"  # type: ignore[union-attr]
    for unknown in ("", "39", "39711", "abcd", "9999"):
        assert industries.division_of(unknown) is None and industries.industry_name(unknown) == ""


def test_the_registry_reads_the_kernels_tables() -> None:
    from services.registry.domain import industry_divisions, veto_rules

    assert industry_divisions() is industries.divisions()
    assert veto_rules() is veto.veto_table()


def test_veto_kinds_and_conditions_have_names_in_both_languages() -> None:
    table = veto.veto_table()
    assert table.window_years == 3 and sorted(table.conditions) == [1, 2, 3, 4, 5, 6]
    assert veto.kind_names("safety_accident") == ("安全事故", "safety accident")
    assert veto.condition_names(6) == ("被列为失信被执行人",
                                       "Listed as a dishonest judgment debtor")
    assert all(rule.zh and rule.en for rule in table.kinds.values())
    assert veto.kind_names("no_such_kind") == ("no_such_kind", "no_such_kind")
    assert veto.condition_names(9) == ("9", "9")
