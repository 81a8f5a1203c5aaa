"""Roles, jurisdictions and the internal token (services/kernel/identity.py)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.kernel import clock, signing
from services.kernel.errors import DomainError, Kind
from services.kernel.identity import (
    Grant,
    Identity,
    Scope,
    acting_grant,
    authorize,
    city_prefix,
    grant_refusal,
    issue_internal_token,
    reset_identity,
    set_identity,
    verify_internal_token,
    visible_scope,
)

USCC_A = "91320102MA1ABCDE0X"
USCC_B = "91320102MA1ABCDE1Y"
from tests.unit.conftest import T0


def who(*grants: Grant) -> Identity:
    return Identity(subject="u1", grants=grants, name="张三")


def refused(identity: Identity, tenant: str, roles: list[str], **kw: str) -> DomainError:
    with pytest.raises(DomainError) as info:
        authorize(identity, tenant, roles, **kw)
    assert info.value.kind is Kind.FORBIDDEN
    return info.value


NANJING = who(Grant("city", "320000", city="320100"))
XUANWU = who(Grant("city", "320000", city="320102"))
FACTORY = who(Grant("enterprise", "320000", org=USCC_A))
MINISTRY = who(Grant("ministry", "000000"))
JIANGSU = who(Grant("province", "320000"))


@pytest.mark.parametrize(
    ("code", "prefix"), [("320100", "3201"), ("320102", "320102"), ("320000", "32"), ("000000", "")]
)
def test_city_prefix(code: str, prefix: str) -> None:
    assert city_prefix(code) == prefix


# --- authorize -------------------------------------------------------------------------------


@pytest.mark.parametrize("location", ["320102", "320115", "320100"])
def test_city_grant_covers_its_counties(location: str) -> None:
    grant = authorize(NANJING, "320000", ["city", "province"], location=location)
    assert grant.role == "city" and grant.city == "320100"


def test_city_grant_refused_outside_its_city() -> None:
    err = refused(NANJING, "320000", ["city", "province"], location="320205")
    assert err.code == "auth.outside_city" and err.params == {"location": "320205"}


def test_county_grant_covers_only_itself() -> None:
    assert authorize(XUANWU, "320000", ["city"], location="320102").city == "320102"
    for location in ("320104", "320100"):
        assert refused(XUANWU, "320000", ["city"], location=location).code == "auth.outside_city"


def test_one_of_several_city_grants_is_enough() -> None:
    both = who(Grant("city", "320000", city="320100"), Grant("city", "320000", city="320200"))
    assert authorize(both, "320000", ["city"], location="320205").city == "320200"


def test_city_grant_does_not_reach_another_tenant() -> None:
    err = refused(NANJING, "330000", ["city"], location="330106")
    assert err.code == "auth.forbidden_role"
    assert err.params == {"tenant": "330000", "roles": "city"}


def test_enterprise_confined_to_its_own_uscc() -> None:
    assert authorize(FACTORY, "320000", ["enterprise"], org=USCC_A).org == USCC_A
    assert refused(FACTORY, "320000", ["enterprise"], org=USCC_B).code == "auth.not_your_unit"


def test_enterprise_location_does_not_matter() -> None:
    assert authorize(FACTORY, "320000", ["enterprise"], org=USCC_A, location="320205")


def test_ministry_reaches_any_tenant_for_listed_roles() -> None:
    for tenant in ("000000", "320000", "330200", "660000"):
        assert authorize(MINISTRY, tenant, ["ministry", "province"]).role == "ministry"


def test_ministry_refused_for_roles_not_listed() -> None:
    err = refused(MINISTRY, "320000", ["province", "city"])
    assert err.code == "auth.forbidden_role"
    assert err.params == {"tenant": "320000", "roles": "city/province"}


def test_national_grant_of_another_role_does_not_cross_tenants() -> None:
    expert = who(Grant("expert", "000000"))
    assert authorize(expert, "000000", ["expert"]).role == "expert"
    assert refused(expert, "320000", ["expert"]).code == "auth.forbidden_role"


def test_wrong_role() -> None:
    assert refused(NANJING, "320000", ["province"]).code == "auth.forbidden_role"
    assert refused(FACTORY, "320000", ["city", "province"]).code == "auth.forbidden_role"
    assert refused(who(), "320000", ["public"]).code == "auth.forbidden_role"


def test_province_acts_anywhere_in_its_tenant_only() -> None:
    assert authorize(JIANGSU, "320000", ["province"], location="320205").role == "province"
    assert refused(JIANGSU, "330000", ["province"]).code == "auth.forbidden_role"


def test_ningbo_is_not_zhejiang() -> None:
    zhejiang = who(Grant("province", "330000"))
    assert refused(zhejiang, "330200", ["province"]).code == "auth.forbidden_role"


# --- the grant that authorised the call -------------------------------------------------------


def test_the_acting_grant_is_the_one_authorize_let_in() -> None:
    """Events name the role that authorised the action: a person holding an enterprise and a
    city grant in one tenant acts as the city where only the city may act."""
    both = who(Grant("enterprise", "320000", org=USCC_A), Grant("city", "320000", city="320100"))
    token = set_identity(both)
    try:
        assert acting_grant("320000") == both.grants[0]    # nothing authorised yet: the first
        authorize(both, "320000", ["city", "province"], location="320102")
        assert acting_grant("320000") == both.grants[1]
        authorize(both, "320000", ["enterprise", "city"], org=USCC_A)
        assert acting_grant("320000") == both.grants[0]
        with pytest.raises(DomainError):   # a refusal changes nothing
            authorize(both, "320000", ["city"], location="320505")
        assert acting_grant("320000") == both.grants[0]
    finally:
        reset_identity(token)
    assert acting_grant("320000") is None                   # no caller: the system


def test_a_new_call_forgets_what_the_last_one_authorised() -> None:
    both = who(Grant("enterprise", "320000", org=USCC_A), Grant("city", "320000", city="320100"))
    first = set_identity(both)
    authorize(both, "320000", ["city"], location="320102")
    reset_identity(first)
    second = set_identity(both)
    try:
        assert acting_grant("320000") == both.grants[0]
    finally:
        reset_identity(second)


# --- visible_scope ---------------------------------------------------------------------------


def test_visible_scope() -> None:
    assert visible_scope(JIANGSU, "320000", ["province", "city"]) == Scope()
    assert visible_scope(MINISTRY, "320000", ["ministry"]) == Scope()
    assert visible_scope(NANJING, "320000", ["province", "city"]) == Scope(location_prefix="3201")
    assert visible_scope(XUANWU, "320000", ["city"]) == Scope(location_prefix="320102")
    assert visible_scope(FACTORY, "320000", ["enterprise"]) == Scope(org=USCC_A)
    both = who(Grant("city", "320000", city="320100"), Grant("province", "320000"))
    assert visible_scope(both, "320000", ["city", "province"]) == Scope()


def test_visible_scope_refuses_without_a_listed_role() -> None:
    with pytest.raises(DomainError) as info:
        visible_scope(NANJING, "330000", ["city"])
    assert info.value.code == "auth.forbidden_role"
    with pytest.raises(DomainError):
        visible_scope(FACTORY, "320000", ["province"])


def test_visible_scope_is_the_widest_of_a_county_and_its_city() -> None:
    """Docstring: "the widest scope among the caller's grants". A county grant listed before
    its city's grant must not narrow what the caller sees."""
    county_then_city = who(Grant("city", "320000", city="320102"),
                           Grant("city", "320000", city="320100"))
    assert visible_scope(county_then_city, "320000", ["city"]) == Scope(location_prefix="3201")


# --- internal token --------------------------------------------------------------------------


@pytest.fixture
def ring(tmp_path: Path, clock_file: Path) -> signing.KeyRing:
    return signing.ensure(tmp_path / "keys", "gateway")


def token_error(ring: signing.KeyRing, token: str) -> DomainError:
    with pytest.raises(DomainError) as info:
        verify_internal_token(ring, token)
    assert info.value.kind is Kind.UNAUTHENTICATED
    return info.value


def test_internal_token_round_trip(ring: signing.KeyRing) -> None:
    identity = Identity(
        subject="acct-42",
        name="张三",
        grants=(
            Grant("city", "320000", city="320100"),
            Grant("enterprise", "330200", org=USCC_A),
            Grant("ministry", "000000"),
        ),
    )
    token = issue_internal_token(ring, identity, seconds=60)
    assert verify_internal_token(ring, token)[0] == identity


def _signed(ring: signing.KeyRing, grants: object) -> str:
    """A token the gateway's key really signed, carrying ``grants`` as they are."""
    return ring.sign_jwt({"iss": "gateway", "aud": "gl-internal", "sub": "x",
                          "iat": int(T0.timestamp()), "exp": int(T0.timestamp()) + 60,
                          "grants": grants})


def test_a_token_with_an_unknown_role_is_refused_whole(ring: signing.KeyRing) -> None:
    token = _signed(ring, [{"r": "superuser", "t": "000000"}, {"r": "province", "t": "320000"}])
    err = token_error(ring, token)
    assert (err.code, err.params["field"], err.params["value"]) == (
        "auth.grant_invalid", "role", "superuser")


@pytest.mark.parametrize(("grant", "field"), [
    ({"r": "city", "t": "320000", "c": "32"}, "city"),          # a prefix: the whole province
    ({"r": "city", "t": "320000", "c": "320000"}, "city"),      # the province's own code
    ({"r": "city", "t": "320000"}, "city"),                     # no city at all
    ({"r": "city", "t": "320000", "c": "3201"}, "city"),
    ({"r": "city", "t": "320000", "c": " 320100"}, "city"),
    ({"r": "city", "t": "320000", "c": "330100"}, "city"),      # Hangzhou is not in Jiangsu
    ({"r": "city", "t": "330000", "c": "330200"}, "city"),      # Ningbo is its own tenant
    ({"r": "city", "t": "320000", "c": "329900"}, "city"),      # no such prefecture
    ({"r": "province", "t": "999999"}, "tenant"),
    ({"r": "province", "t": "000000"}, "tenant"),
    ({"r": "ministry", "t": "320000"}, "tenant"),
    ({"r": "operator", "t": "330000"}, "tenant"),
    ({"r": "enterprise", "t": "320000"}, "org"),                # would confine to nothing
    ({"r": "enterprise", "t": "320000", "o": "91320102"}, "org"),
    ({"r": "institution", "t": "000000", "o": USCC_A.lower()}, "org"),
    ({"r": "", "t": "320000"}, "role"),
])
def test_a_token_with_a_grant_out_of_shape_is_refused(ring: signing.KeyRing, grant: dict,
                                                      field: str) -> None:
    """Signed by the gateway's own key, and still refused: a service reads no grant it cannot
    make sense of (a city ``32`` or ``320000`` would otherwise see the whole province)."""
    err = token_error(ring, _signed(ring, [{"r": "province", "t": "320000"}, grant]))
    assert err.code == "auth.grant_invalid" and err.params["field"] == field
    assert err.params["role"] == grant["r"] and err.message("en")


@pytest.mark.parametrize("grants", [None, "province", [["province", "320000"]],
                                    [{"r": "province", "t": 320000}]])
def test_a_token_whose_grants_are_not_a_list_of_grants_is_refused(ring: signing.KeyRing,
                                                                   grants: object) -> None:
    assert token_error(ring, _signed(ring, grants)).code == "auth.token_invalid"


@pytest.mark.parametrize("grant", [
    Grant("city", "320000", city="320100"), Grant("city", "320000", city="320102"),
    Grant("city", "330200", city="330212"), Grant("city", "660000", city="659001"),
    Grant("province", "330200"), Grant("enterprise", "330200", org=USCC_A),
    Grant("institution", "000000", org=USCC_B), Grant("institution", "320000", org=USCC_B),
    Grant("expert", "000000"), Grant("partner", "000000"), Grant("public", "000000"),
    Grant("ministry", "000000"), Grant("operator", "000000"),
])
def test_grants_that_make_sense_pass(grant: Grant) -> None:
    assert grant_refusal(grant) is None


def test_expired_token(ring: signing.KeyRing, clock_file: Path) -> None:
    token = issue_internal_token(ring, JIANGSU, seconds=60)
    clock.set_clock(clock_file, at=T0 + timedelta(seconds=59))
    assert verify_internal_token(ring, token)[0] == JIANGSU
    clock.set_clock(clock_file, at=T0 + timedelta(seconds=60))
    assert token_error(ring, token).code == "auth.token_expired"
    clock.set_clock(clock_file, at=T0 + timedelta(days=1))
    assert token_error(ring, token).code == "auth.token_expired"


def test_token_from_another_key_ring(ring: signing.KeyRing, tmp_path: Path,
                                     clock_file: Path) -> None:
    clock.set_clock(clock_file, at=T0 + timedelta(seconds=1))  # a kid of its own
    stranger = signing.ensure(tmp_path / "stranger-keys", "gateway")
    token = issue_internal_token(stranger, JIANGSU, seconds=60)
    assert token_error(ring, token).code == "auth.token_invalid"


def test_token_from_a_ring_with_the_same_kid_but_another_key(ring: signing.KeyRing) -> None:
    key = Ed25519PrivateKey.generate()
    kid = ring.active_kid
    stranger = signing.KeyRing("gateway", public={kid: key.public_key()}, private={kid: key})
    token = issue_internal_token(stranger, JIANGSU, seconds=60)
    assert token_error(ring, token).code == "auth.token_invalid"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _unb64(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_tampered_token_refused(ring: signing.KeyRing) -> None:
    token = issue_internal_token(ring, NANJING, seconds=60)
    header, payload, sig = token.split(".")
    claims = _unb64(payload)
    claims["grants"] = [{"r": "province", "t": "320000"}]  # promote oneself
    forged = ".".join([header, _b64(claims), sig])
    assert token_error(ring, forged).code == "auth.token_invalid"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_garbage_token_refused(ring: signing.KeyRing, token: str) -> None:
    assert token_error(ring, token).code == "auth.token_invalid"


def test_token_for_another_audience_refused(ring: signing.KeyRing) -> None:
    token = ring.sign_jwt({"iss": "gateway", "aud": "gl-public", "sub": "x",
                           "iat": int(T0.timestamp()), "exp": int(T0.timestamp()) + 60})
    assert token_error(ring, token).code == "auth.token_invalid"
