"""An institution's profile (机构信息) and its verification (SPEC §9): staffing and experience,
who may see it, and when a change sends it back to the ministry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from services.institutions.domain.ruleset import Rules, uscc_field
from services.kernel.errors import Kind, Refusal, bounded, invalid

@dataclass(frozen=True)
class StaffMember:
    name: str
    title: str
    full_time: bool
    field: str = ""
    also_employed_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Experience:
    year: int
    description: str = ""


@dataclass(frozen=True)
class Finding:
    """A rule not met: a message code and its parameters."""

    code: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    """A caller's profile, checked field by field. The legal representative's ID number is not
    part of it: the service keeps only its key and masked form."""

    uscc: str
    name: str
    legal_representative: str
    address: str
    parent_uscc: str
    contact: str
    qualifications: tuple[str, ...]
    staff: tuple[StaffMember, ...]
    experience: tuple[Experience, ...]
    scope_categories: tuple[str, ...]
    scope_industries: tuple[str, ...]

    @classmethod
    def parse(cls, raw: Mapping[str, Any], *, today: date, r: Rules) -> Profile:
        """The profile, or the first field refused (``DomainError``), in the order a form is read."""
        uscc = uscc_field(raw["uscc"], "uscc")
        name = bounded(raw["name"], "name", 200)
        legal_representative = bounded(raw["legal_representative"], "legal_representative", 100)
        address = bounded(raw["address"], "address", 300)
        parent_uscc = (uscc_field(raw["parent_uscc"], "parent_uscc")
                       if raw["parent_uscc"].strip() else "")
        contact = bounded(raw["contact"], "contact", 200)
        qualifications = tuple(bounded(q, "qualifications", 200) for q in raw["qualifications"])
        for key, value in (("name", name), ("legal_representative", legal_representative)):
            if not value:
                raise invalid("field.required", field=key)
        if (len(raw["staff"]) > 1000 or len(raw["qualifications"]) > 100
                or len(raw["experience"]) > 500):
            raise invalid("institution.too_many", limit=1000)
        staff = []
        for i, s in enumerate(raw["staff"], start=1):
            if s["title"] not in r.titles:
                raise invalid("institution.staff_title", row=i, value=s["title"],
                              allowed="/".join(r.titles))
            staff_name = bounded(s["name"], "staff.name", 100)
            if not staff_name:
                raise invalid("field.required", field=f"staff[{i}].name")
            staff.append(StaffMember(
                name=staff_name, title=s["title"], full_time=bool(s["full_time"]),
                field=bounded(s.get("field", ""), "staff.field", 100),
                also_employed_by=tuple(uscc_field(u, f"staff[{i}].also_employed_by")
                                       for u in s["also_employed_by"])))
        experience = []
        for e in raw["experience"]:
            if not 1949 <= int(e["year"]) <= today.year:
                raise invalid("institution.experience_year", value=e["year"], max=today.year)
            experience.append(Experience(
                int(e["year"]), bounded(e["description"], "experience.description", 500)))
        categories = tuple(dict.fromkeys(raw["scope_categories"]))
        if not categories or not set(categories) <= set(r.categories):
            raise invalid("institution.scope", value="/".join(categories) or "-",
                          allowed="/".join(r.categories))
        for division in raw["scope_industries"]:
            if not (len(division) == 2 and division.isdigit()):
                raise invalid("institution.scope_industry", value=division)
        return cls(uscc=uscc, name=name, legal_representative=legal_representative,
                   address=address, parent_uscc=parent_uscc, contact=contact,
                   qualifications=qualifications, staff=tuple(staff),
                   experience=tuple(experience), scope_categories=categories,
                   scope_industries=tuple(sorted(set(raw["scope_industries"]))))

    def stored(self) -> dict[str, Any]:
        """What is kept as the institution's ``profile_json`` (name, legal representative and
        parent company are columns of their own)."""
        return {
            "uscc": self.uscc, "address": self.address, "contact": self.contact,
            "qualifications": list(self.qualifications),
            "staff": [{"name": s.name, "title": s.title, "full_time": s.full_time,
                       "field": s.field, "also_employed_by": list(s.also_employed_by)}
                      for s in self.staff],
            "experience": [{"year": e.year, "description": e.description}
                           for e in self.experience],
            "scope_categories": list(self.scope_categories),
            "scope_industries": list(self.scope_industries),
        }


def staff_of(stored: Mapping[str, Any]) -> tuple[StaffMember, ...]:
    """The staff of a stored profile (``Profile.stored``)."""
    return tuple(StaffMember(name=s["name"], title=s["title"], full_time=s["full_time"],
                             field=s.get("field", ""), also_employed_by=tuple(s["also_employed_by"]))
                 for s in stored["staff"])


# --- verification (核实) ------------------------------------------------------------------------------


def staff_counts(staff: Iterable[StaffMember], r: Rules) -> tuple[int, int]:
    """(full-time evaluators with intermediate or higher titles, of whom senior)."""
    qualified = [s for s in staff if s.full_time and s.title in r.titles[1:]]
    return len(qualified), sum(1 for s in qualified if s.title == r.titles[-1])


def findings(staff: Sequence[StaffMember], experience_years: Iterable[int], today: date,
             r: Rules) -> list[Finding]:
    """The SPEC §9 rules an institution does not meet; empty when it may be verified."""
    out = []
    qualified, senior = staff_counts(staff, r)
    if qualified < r.min_full_time_qualified:
        out.append(Finding("institution.rule_staff", {"have": qualified,
                                                      "need": r.min_full_time_qualified}))
    if qualified and Decimal(senior) < r.min_senior_share * qualified:
        out.append(Finding("institution.rule_senior", {
            "senior": senior, "qualified": qualified,
            "share": f"{(r.min_senior_share * 100).normalize():f}"}))
    recent = [y for y in experience_years if today.year - r.experience_years < y <= today.year]
    if len(recent) < r.experience_min_items:
        out.append(Finding("institution.rule_experience", {"years": r.experience_years,
                                                           "need": r.experience_min_items}))
    return out


def findings_of(stored: Mapping[str, Any], today: date, r: Rules) -> list[Finding]:
    """The rules a stored profile does not meet today."""
    return findings(staff_of(stored), [e["year"] for e in stored["experience"]], today, r)


def verification_refusal(uscc: str, status: str, unmet: Sequence[Finding]) -> Refusal | None:
    """Why the ministry may not verify the institution: removed, or the first rule unmet."""
    if status == "removed":
        return Refusal("institution.removed", Kind.PRECONDITION, {"uscc": uscc})
    if unmet:
        return Refusal(unmet[0].code, Kind.PRECONDITION, unmet[0].params)
    return None


# --- registration ------------------------------------------------------------------------------------


def registration_refusal(uscc: str, status: str | None, *, legal_rep_id_given: bool) -> Refusal | None:
    """A new institution needs its legal representative's ID number (the cap hangs on it); a
    removed one may not come back by updating its profile (``status`` None: new)."""
    if status is None and not legal_rep_id_given:
        return Refusal("field.required", Kind.INVALID, {"field": "legal_rep_id"})
    if status == "removed":
        return Refusal("institution.removed", Kind.PRECONDITION, {"uscc": uscc})
    return None


def status_after_update(status: str, *, legal_rep_changed: bool, parent_changed: bool) -> str:
    """A verified institution whose legal representative or parent company changes is verified
    again: the cap and the related parties hang on these."""
    if status == "verified" and (legal_rep_changed or parent_changed):
        return "unverified"
    return status


# --- who sees an institution ---------------------------------------------------------------------


def visibility_refusal(uscc: str, scope: Sequence[str] | None, role: str) -> Refusal | None:
    """Outside the caller's scope (None: all) an institution is told it is not its own; anyone
    else is told the institution does not exist (a province must not learn of others)."""
    if scope is None or uscc in scope:
        return None
    if role == "institution":
        return Refusal("auth.not_your_unit", Kind.FORBIDDEN)
    return Refusal("institution.not_found", Kind.NOT_FOUND, {"uscc": uscc})


def shows_staff(role: str) -> bool:
    """Staff names go to the ministry, the filing province and the institution, not to cities."""
    return role != "city"


def is_public(status: str) -> bool:
    """An unverified institution has no public track record (a removed one keeps its record)."""
    return status != "unverified"
