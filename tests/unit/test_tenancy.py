"""Tenants, GB/T 2260 geography and the reporting hierarchy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.kernel import tenancy
from services.kernel.errors import DomainError, Kind
from services.kernel.tenancy import (
    NATIONAL,
    cities_of,
    current_tenant,
    division,
    get_tenant,
    is_tenant,
    prefecture_of,
    reporting_tenant,
    tenant_ids,
    tenant_scope,
    tenants,
    validate_location,
)

PLAN_CITIES = {"210200", "330200", "350200", "370200", "440300"}


def test_thirty_eight_tenants_ordered_by_id() -> None:
    ids = tenant_ids()
    assert len(ids) == 38 and list(ids) == sorted(ids) and len(set(ids)) == 38
    assert ids[0] == NATIONAL == "000000"
    assert len([t for t in tenants() if t.id != NATIONAL]) == 37


def test_kinds() -> None:
    kinds = {t.id: t.kind for t in tenants()}
    assert kinds[NATIONAL] == "national"
    assert {i for i, k in kinds.items() if k == "plan_city"} == PLAN_CITIES
    assert [i for i, k in kinds.items() if k == "corps"] == ["660000"]
    assert sum(k == "province" for k in kinds.values()) == 31


def test_xpcc() -> None:
    xpcc = get_tenant("660000")
    assert xpcc.name_zh == "新疆生产建设兵团" and xpcc.kind == "corps"
    assert division("660000") is None  # a reporting id, not a GB/T 2260 code


def test_unknown_tenant() -> None:
    assert not is_tenant("999999") and is_tenant("330200")
    with pytest.raises(DomainError) as info:
        get_tenant("999999")
    error = info.value
    assert error.code == "tenant.unknown" and error.kind is Kind.NOT_FOUND
    assert error.params == {"tenant": "999999"}
    assert "999999" in error.message("zh") and "租户" in error.message("zh")
    assert "999999" in error.message("en") and "tenant" in error.message("en").lower()


@pytest.mark.parametrize(
    "location, prefecture, tenant",
    [
        ("330212", "330200", "330200"),  # 宁波 鄞州区: its own tenant
        ("330106", "330100", "330000"),  # 杭州 西湖区
        ("659001", "659000", "660000"),  # 石河子市: XPCC
        ("110105", "110100", "110000"),  # 北京 朝阳区
        ("440305", "440300", "440300"),  # 深圳 南山区
        ("441900", "441900", "440000"),  # 东莞: a prefecture without counties
        ("419001", "419000", "410000"),  # 济源: directly under the province
        ("653101", "653100", "650000"),  # 喀什市
        (" 330212 ", "330200", "330200"),
    ],
)
def test_reporting(location: str, prefecture: str, tenant: str) -> None:
    assert prefecture_of(location) == prefecture
    assert reporting_tenant(location) == tenant


def test_every_reporting_tenant_is_a_tenant() -> None:
    for tenant_id in tenant_ids():
        for city in cities_of(tenant_id):
            assert reporting_tenant(city.code) == tenant_id


def test_cities_of_province_excludes_plan_city() -> None:
    codes = {d.code for d in cities_of("330000")}
    assert "330100" in codes and "330200" not in codes and len(codes) == 10
    assert [d.code for d in cities_of("330200")] == ["330200"]


def test_cities_of_special_tenants() -> None:
    assert cities_of(NATIONAL) == ()
    xpcc = cities_of("660000")
    assert xpcc[0].code == "659001" and xpcc[0].name_zh == "石河子市"
    assert {d.code[:4] for d in xpcc} == {"6590"} and all(d.level == "county" for d in xpcc)
    assert not any(d.code.startswith("6590") for d in cities_of("650000"))
    with pytest.raises(DomainError):
        cities_of("999999")


def test_divisions() -> None:
    assert division("330000") == tenancy.Division("330000", "浙江省", "province", None)
    assert division("330200") == tenancy.Division("330200", "宁波市", "prefecture", "330000")
    assert division("659001") == tenancy.Division("659001", "石河子市", "county", "659000")
    assert division("123456") is None


@pytest.mark.parametrize("raw", ["33021", "3302120", "33O212", "", "330-12"])
def test_malformed_location(raw: str) -> None:
    with pytest.raises(DomainError) as info:
        validate_location(raw)
    assert info.value.code == "location.malformed" and info.value.kind is Kind.INVALID


@pytest.mark.parametrize("code", ["330000", "339900", "330299", "990101", "000000"])
def test_unknown_location(code: str) -> None:
    with pytest.raises(DomainError) as info:
        validate_location(code)
    assert info.value.code == "location.unknown" and info.value.kind is Kind.INVALID
    assert code in info.value.message("zh") and code in info.value.message("en")


def test_tenant_scope_nests_and_restores() -> None:
    with pytest.raises(RuntimeError):
        current_tenant()
    with tenant_scope("330000"):
        assert current_tenant() == "330000"
        with tenant_scope("330200"):
            assert current_tenant() == "330200"
        assert current_tenant() == "330000"
        with pytest.raises(ValueError), tenant_scope("660000"):
            assert current_tenant() == "660000"
            raise ValueError("boom")
        assert current_tenant() == "330000"
    with pytest.raises(RuntimeError):
        current_tenant()


def test_tenant_scope_refuses_unknown_tenant() -> None:
    with pytest.raises(DomainError) as info, tenant_scope("999999"):
        pass
    assert info.value.code == "tenant.unknown"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A scratch data folder holding copies of the shipped files; caches reset around the test."""
    for name in ("gbt2260.yaml", "tenants.yaml"):
        (tmp_path / name).write_text((tenancy._DATA / name).read_text("utf-8"), "utf-8")
    monkeypatch.setattr(tenancy, "_DATA", tmp_path)
    tenancy._geography.cache_clear()
    tenancy._tenancy.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    tenancy._geography.cache_clear()
    tenancy._tenancy.cache_clear()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('id: "120000"', 'id: "110000"', "duplicate tenant id 110000"),
        ('id: "120000"', 'id: "12000"', "id must be 6 digits"),
        ('covers: ["330200"]', 'covers: ["330201"]', "covers '330201', not a free prefecture"),
        ("kind: corps", "kind: army", "kind must be one of"),
    ],
)
def test_bad_tenant_data_is_refused(data_dir: Path, old: str, new: str, message: str) -> None:
    _edit(data_dir / "tenants.yaml", old, new)
    with pytest.raises(ValueError, match=message):
        tenancy.tenants()


def test_bad_geography_is_refused(data_dir: Path) -> None:
    _edit(data_dir / "gbt2260.yaml", '鄞州区, parent: "330200"', '鄞州区, parent: "330100"')
    with pytest.raises(ValueError, match="parent '330100' is not its prefecture"):
        tenancy.division("330212")
