"""Tenants (省级主管部门) and GB/T 2260 geography (行政区划), kept apart.

A unit has a location (a county or prefecture code) and a reporting tenant, which is usually the
province of that location but not always: 宁波 (330200) is its own tenant, and the XPCC cities
(659001 石河子市 …) report to the corps (660000), not to Xinjiang. Data: ``data/tenants.yaml``,
``data/gbt2260.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from services.kernel.errors import invalid, not_found

NATIONAL = "000000"
KINDS = ("national", "province", "plan_city", "corps")
_DATA = Path(__file__).parent / "data"
_CODE = re.compile(r"\d{6}")


@dataclass(frozen=True)
class Tenant:
    id: str
    name_zh: str
    name_en: str
    kind: str  # national | province | plan_city (计划单列市) | corps (兵团)


@dataclass(frozen=True)
class Division:
    code: str
    name_zh: str
    level: str  # province | prefecture | county
    parent: str | None


# --- public API --------------------------------------------------------------------------------


def tenants() -> tuple[Tenant, ...]:
    """All tenants, the ministry first, ordered by id."""
    return _tenancy().tenants


def tenant_ids() -> tuple[str, ...]:
    return tuple(t.id for t in tenants())


def get_tenant(tenant_id: str) -> Tenant:
    tenant = _tenancy().by_id.get(tenant_id)
    if tenant is None:
        raise not_found("tenant.unknown", tenant=tenant_id)
    return tenant


def is_tenant(tenant_id: str) -> bool:
    return tenant_id in _tenancy().by_id


def division(code: str) -> Division | None:
    return _geography().divisions.get(code)


def validate_location(location: str) -> str:
    """The normalized 6-digit county or prefecture code.

    Raises ``location.malformed`` (not 6 digits) or ``location.unknown`` (not in the shipped data).
    """
    code = location.strip() if isinstance(location, str) else ""
    if not _CODE.fullmatch(code):
        raise invalid("location.malformed", location=location)
    geo = _geography()
    found = geo.divisions.get(code)
    if found is not None and found.level != "province":
        return code
    # Without county data a county code is checked only as far as its prefecture.
    prefecture = geo.divisions.get(code[:4] + "00")
    if (
        not geo.has_counties
        and code[4:] != "00"
        and prefecture
        and prefecture.level == "prefecture"
    ):
        return code
    raise invalid("location.unknown", location=code)


def prefecture_of(location: str) -> str:
    """The prefecture-level code of a location: 330212 → 330200, 110105 → 110100.

    County-level units that hang on a province sit under GB/T 2260's grouping code, so an XPCC city
    gives 659000 (自治区直辖县级行政区划) and 济源 419001 gives 419000.
    """
    code = validate_location(location)
    found = _geography().divisions.get(code)
    if found is None:  # county not in data (county data not shipped)
        return code[:4] + "00"
    return code if found.level == "prefecture" else str(found.parent)


def reporting_tenant(location: str) -> str:
    """The tenant a location reports to.

    330212 → 330200 (宁波 is its own tenant), 330106 → 330000, 659001 → 660000 (XPCC).
    """
    return _reports_to(prefecture_of(location))


def cities_of(tenant_id: str) -> tuple[Division, ...]:
    """Prefecture-level divisions reporting to a tenant, ordered by code.

    A grouping code x9xx00 (省直辖县级行政区划) is replaced by its members, since the province runs
    each of them like a city: 410000 lists 济源 419001, and 660000 lists the XPCC cities.
    The ministry has none.
    """
    get_tenant(tenant_id)
    geo = _geography()
    cities: list[Division] = []
    for prefecture in geo.prefectures:
        if _reports_to(prefecture.code) != tenant_id:
            continue
        members = geo.children.get(prefecture.code, ())
        cities.extend(members if prefecture.code[2:4] == "90" and members else [prefecture])
    return tuple(cities)


# --- current tenant ----------------------------------------------------------------------------

_current: ContextVar[str | None] = ContextVar("gl_current_tenant", default=None)


def current_tenant() -> str:
    """The tenant of the request being served; RuntimeError outside any ``tenant_scope``."""
    tenant_id = _current.get()
    if tenant_id is None:
        raise RuntimeError("no current tenant: wrap the call in tenant_scope(tenant_id)")
    return tenant_id


@contextmanager
def tenant_scope(tenant_id: str) -> Iterator[None]:
    """Make ``tenant_id`` current inside the block; scopes nest and restore on exit."""
    get_tenant(tenant_id)
    token = _current.set(tenant_id)
    try:
        yield
    finally:
        _current.reset(token)


# --- loading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Geography:
    divisions: dict[str, Division]
    prefectures: tuple[Division, ...]
    children: dict[str, tuple[Division, ...]]  # prefecture code → its counties
    has_counties: bool


@dataclass(frozen=True)
class _Tenancy:
    tenants: tuple[Tenant, ...]
    by_id: dict[str, Tenant]
    covers: dict[str, str]  # prefecture code → tenant, where that is not the province


def _reports_to(prefecture: str) -> str:
    return _tenancy().covers.get(prefecture, prefecture[:2] + "0000")


def _read(name: str) -> dict[str, Any]:
    path = _DATA / name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError) as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict) or "version" not in data:
        raise ValueError(f"{path}: expected a mapping with a 'version' field")
    return data


@cache
def _geography() -> _Geography:
    data = _read("gbt2260.yaml")
    divisions: dict[str, Division] = {}
    # (level, key in the file, parent's level, leading digits a code shares with its parent)
    for level, key, parent_level, shared in (
        ("province", "provinces", None, 0),
        ("prefecture", "prefectures", "province", 2),
        ("county", "counties", "prefecture", 4),
    ):
        for entry in data.get(key) or ():
            code, parent = str(entry.get("code", "")), entry.get("parent")
            where = f"gbt2260.yaml {key}: {entry!r}"
            if not _CODE.fullmatch(code) or _level_of(code) != level:
                raise ValueError(f"{where}: {code!r} is not a 6-digit {level} code")
            if code in divisions:
                raise ValueError(f"{where}: duplicate code {code}")
            if not isinstance(entry.get("name_zh"), str) or not entry["name_zh"]:
                raise ValueError(f"{where}: name_zh missing")
            if parent_level is not None:
                up = divisions.get(str(parent))
                if up is None or up.level != parent_level or up.code[:shared] != code[:shared]:
                    raise ValueError(f"{where}: parent {parent!r} is not its {parent_level}")
            divisions[code] = Division(code, entry["name_zh"], level, parent)
    prefectures = tuple(d for d in divisions.values() if d.level == "prefecture")
    children: dict[str, list[Division]] = {}
    for d in divisions.values():
        if d.level == "county":
            children.setdefault(str(d.parent), []).append(d)
    return _Geography(
        divisions=divisions,
        prefectures=tuple(sorted(prefectures, key=lambda d: d.code)),
        children={code: tuple(sorted(ds, key=lambda d: d.code)) for code, ds in children.items()},
        has_counties=bool(data.get("counties")),
    )


def _level_of(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    return "prefecture" if code.endswith("00") else "county"


@cache
def _tenancy() -> _Tenancy:
    data = _read("tenants.yaml")
    geo = _geography()
    by_id: dict[str, Tenant] = {}
    covers: dict[str, str] = {}
    for entry in data.get("tenants") or ():
        where = f"tenants.yaml: {entry!r}"
        tenant_id, kind = str(entry.get("id", "")), entry.get("kind")
        if not _CODE.fullmatch(tenant_id):
            raise ValueError(f"{where}: id must be 6 digits")
        if tenant_id in by_id:
            raise ValueError(f"{where}: duplicate tenant id {tenant_id}")
        if kind not in KINDS:
            raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}")
        if not all(isinstance(entry.get(k), str) and entry[k] for k in ("name_zh", "name_en")):
            raise ValueError(f"{where}: name_zh and name_en are required")
        expected_level = {"province": "province", "plan_city": "prefecture"}.get(kind)
        found = geo.divisions.get(tenant_id)
        if expected_level and (found is None or found.level != expected_level):
            raise ValueError(
                f"{where}: a {kind} tenant's id must be a GB/T 2260 {expected_level} code"
            )
        if kind in ("national", "corps") and found is not None:
            raise ValueError(f"{where}: a {kind} tenant's id must not be a GB/T 2260 code")
        for code in entry.get("covers") or ():
            if kind not in ("plan_city", "corps"):
                raise ValueError(f"{where}: only plan_city and corps tenants cover prefectures")
            target = geo.divisions.get(str(code))
            if target is None or target.level != "prefecture" or code in covers:
                raise ValueError(f"{where}: covers {code!r}, not a free prefecture code")
            covers[str(code)] = tenant_id
        if kind == "plan_city" and covers.get(tenant_id) != tenant_id:
            raise ValueError(
                f"{where}: a plan_city tenant must cover its own prefecture {tenant_id}"
            )
        by_id[tenant_id] = Tenant(tenant_id, entry["name_zh"], entry["name_en"], kind)
    national = [t.id for t in by_id.values() if t.kind == "national"]
    if national != [NATIONAL]:
        raise ValueError(
            f"tenants.yaml: exactly one national tenant {NATIONAL} expected, got {national}"
        )
    missing = [
        d.code for d in geo.divisions.values() if d.level == "province" and d.code not in by_id
    ]
    if missing:
        raise ValueError(f"tenants.yaml: provinces without a tenant: {', '.join(missing)}")
    ordered = tuple(sorted(by_id.values(), key=lambda t: t.id))
    return _Tenancy(tenants=ordered, by_id=by_id, covers=covers)
