"""Institution rules (SPEC §9) without I/O: staffing, independence, sanctions, work reports,
track records, the rules file, ID numbers, and the crossings institutions rely on."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest
import yaml

from services.institutions import domain
from services.institutions.domain import Party, SanctionTerm, StaffMember, rules
from services.kernel.crossings import crossing_for_read, crossing_for_store
from services.kernel.errors import DomainError
from services.kernel.identity import Grant, Identity
from services.kernel.personid import parse_person_id
from tests.helpers import person_id

TODAY = date(2026, 11, 24)


def staff(intermediate: int, senior: int, part_time: int = 0, junior: int = 0) -> list[StaffMember]:
    return ([StaffMember(f"s{i}", "senior", True) for i in range(senior)]
            + [StaffMember(f"m{i}", "intermediate", True) for i in range(intermediate)]
            + [StaffMember(f"p{i}", "senior", False) for i in range(part_time)]
            + [StaffMember(f"j{i}", "junior", True) for i in range(junior)])


def codes(findings: list[domain.Finding]) -> list[str]:
    return [f.code for f in findings]


# --- staffing and experience ------------------------------------------------------------------------


def test_ten_qualified_half_senior_and_recent_experience_pass() -> None:
    assert domain.findings(staff(5, 5), [2024], TODAY, rules()) == []


def test_part_time_and_junior_staff_do_not_count() -> None:
    found = domain.findings(staff(4, 5, part_time=3, junior=6), [2025], TODAY, rules())
    assert codes(found) == ["institution.rule_staff"]
    assert found[0].params == {"have": 9, "need": 10}


def test_fewer_than_half_senior_is_refused() -> None:
    found = domain.findings(staff(6, 4), [2025], TODAY, rules())
    assert codes(found) == ["institution.rule_senior"]
    assert found[0].params["share"] == "50"


def test_experience_must_fall_in_the_last_five_years() -> None:
    assert codes(domain.findings(staff(5, 5), [2021], TODAY, rules())) == ["institution.rule_experience"]
    assert domain.findings(staff(5, 5), [2022], TODAY, rules()) == []


# --- independence -------------------------------------------------------------------------------------

INST = Party("91110108MA01XYA126", parent_uscc="91110000100000000A", legal_rep_key="k-inst")


@pytest.mark.parametrize("unit,assisted,code", [
    (Party("91320100MA1N2P3Q43"), {"91110108MA01XYA126"}, "engagement.wrote_self_evaluation"),
    (Party("91110108MA01XYA126"), set(), "engagement.related_self"),
    (Party("91320100MA1N2P3Q43", legal_rep_key="k-inst"), set(), "engagement.related_legal_rep"),
    (Party("91320100MA1N2P3Q43", parent_uscc="91110108MA01XYA126"), set(), "engagement.related_group"),
    (Party("91110000100000000A"), set(), "engagement.related_group"),
    (Party("91320100MA1N2P3Q43", parent_uscc="91110000100000000A"), set(), "engagement.related_group"),
    (Party("91320200MA1N2P3Q4X"), set(), "engagement.related_employs"),
])
def test_each_related_party_is_refused(unit: Party, assisted: set[str], code: str) -> None:
    team = [StaffMember("a", "senior", True, also_employed_by=("91320200MA1N2P3Q4X",))]
    finding = domain.independence(INST, team, unit, assisted)
    assert finding is not None and finding.code == code


def test_an_unrelated_unit_may_be_engaged() -> None:
    unit = Party("91320100MA1N2P3Q43", parent_uscc="91320000123456789X", legal_rep_key="k-unit")
    assert domain.independence(INST, staff(5, 5), unit, {"91330100AAAAAAAAAA"}) is None


def test_empty_keys_never_match() -> None:
    assert domain.independence(Party("91110108MA01XYA126"), [], Party("91320100MA1N2P3Q43"), []) is None


# --- sanctions ----------------------------------------------------------------------------------------


def test_not_accepted_runs_from_first_to_last_day_and_covers_its_scope() -> None:
    s = SanctionTerm("not_accepted", "320000", date(2026, 1, 1), date(2026, 6, 30))
    assert domain.in_force(s, date(2026, 1, 1)) and domain.in_force(s, date(2026, 6, 30))
    assert not domain.in_force(s, date(2026, 7, 1))
    assert not domain.reports_accepted([s], "320000", date(2026, 3, 1))
    assert domain.reports_accepted([s], "330000", date(2026, 3, 1))      # a province's own only
    national = SanctionTerm("not_accepted", "000000", date(2026, 1, 1), date(2026, 6, 30))
    assert not domain.reports_accepted([national], "330000", date(2026, 3, 1))


def test_a_warning_does_not_stop_reports_and_a_removal_does() -> None:
    warning = SanctionTerm("warning", "000000", date(2026, 1, 1), None)
    removal = SanctionTerm("removal", "000000", date(2026, 1, 1), None)
    assert domain.reports_accepted([warning], "320000", date(2026, 1, 1))
    assert not domain.reports_accepted([removal], "320000", date(2030, 1, 1))


def test_sanction_periods_are_checked() -> None:
    r = rules()
    assert domain.sanction_period("warning", TODAY, None, r) is None
    assert domain.sanction_period("not_accepted", TODAY, date(2027, 1, 1), r) == date(2027, 1, 1)
    for end in (None, date(2026, 1, 1), date(2030, 1, 1)):
        with pytest.raises(ValueError):
            domain.sanction_period("not_accepted", TODAY, end, r)


# --- work reports and track record -----------------------------------------------------------------


def test_work_report_is_due_on_august_15_of_the_next_year() -> None:
    assert domain.work_report_due(2025, rules()) == date(2026, 8, 15)


def test_track_record_counts_projects_deviation_and_later_removals() -> None:
    projects = [
        domain.Project(2025, "national", "320000/u1", date(2025, 3, 1), Decimal("2.5")),
        domain.Project(2025, "national", "320000/u2", date(2025, 4, 1), Decimal("-1.5")),
        domain.Project(2026, "provincial", "330000/u3", date(2026, 2, 1), None),
    ]
    removals = {"320000/u1": date(2026, 1, 10), "330000/u3": date(2025, 12, 1)}  # u3: before
    record = domain.track_record(projects, removals)
    assert record["projects"] == [{"year": 2025, "level": "national", "projects": 2},
                                  {"year": 2026, "level": "provincial", "projects": 1}]
    assert (record["scored"], record["mean_abs_deviation"], record["max_abs_deviation"]) == (2, "2.00", "2.5")
    assert (record["units_removed_later"], record["removed_share"]) == (1, "33.3")


# --- the rules file ------------------------------------------------------------------------------


def _rules_data() -> dict:
    from pathlib import Path

    import services.institutions
    path = Path(services.institutions.__file__).parent / "data" / "institutions.yaml"
    return yaml.safe_load(path.read_text("utf-8"))


def test_the_shipped_rules_hold_the_art_20_cap() -> None:
    assert rules().cap == 15 and rules().counted_level == "national"


@pytest.mark.parametrize("path,value", [
    (("work_report", "due_month_day"), "02-30"),
    (("cap", "counted_level"), "county"),
    (("sanctions", "province_may"), ["warning", "prison"]),
])
def test_a_defective_rules_file_is_refused(path: tuple[str, str], value: object) -> None:
    data = copy.deepcopy(_rules_data())
    data[path[0]][path[1]] = value
    with pytest.raises(ValueError):
        domain.parse_rules(data)


# --- ID numbers and crossings ------------------------------------------------------------------------


def test_person_ids_are_checked_and_kept_as_key_and_mask() -> None:
    good = person_id(7)
    parsed = parse_person_id(good.lower(), secret=b"s1")
    assert parsed.masked == good[:4] + "*" * 10 + good[14:] and len(parsed.key) == 64
    assert parsed.key == parse_person_id(good, secret=b"s1").key
    assert parsed.key != parse_person_id(good, secret=b"s2").key   # keyed: no plain hash
    for bad, code in ((good[:-1], "person_id.format"), (good[:10] + "13" + good[12:], "person_id.birth_date"),
                      (good[:-1] + ("0" if good[-1] != "0" else "1"), "person_id.checksum")):
        with pytest.raises(DomainError) as err:
            parse_person_id(bad, secret=b"s1")
        assert err.value.code == code


def test_an_institution_acts_in_provinces_only_through_its_act_crossing() -> None:
    inst = Identity("i", (Grant("institution", "000000", org="91110108MA01XYA126"),))
    assert inst.in_tenant("320000", write=True)              # confined further by the service
    assert crossing_for_read("institution", "000000", "320000", write=True).kind == "act"
    expert = Identity("e", (Grant("expert", "000000"),))
    assert not expert.in_tenant("320000")
    ministry = Identity("m", (Grant("ministry", "000000"),))
    assert ministry.in_tenant("320000") and not ministry.in_tenant("320000", write=True)


def test_only_the_institutions_service_stores_provincial_records_nationally() -> None:
    assert crossing_for_store("institutions", "320000", "000000") is not None
    assert crossing_for_store("registry", "320000", "000000") is None
    assert crossing_for_store("institutions", "320000", "330000") is None
