"""Signing keys, rotation, canonical documents (services/kernel/signing.py)."""

from __future__ import annotations

import copy
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from services.kernel import clock, signing

from tests.unit.conftest import T0


@pytest.fixture
def keys(tmp_path: Path, clock_file: Path) -> Path:
    return tmp_path / "keys"


def claims(issuer: str = "listing", **extra: Any) -> dict[str, Any]:
    now = int(clock.now().timestamp())
    return {"iss": issuer, "aud": "test", "sub": "u1", "iat": now, "exp": now + 600, **extra}


DOC = {"list": "2025-national", "entries": [{"uscc": "A1", "level": "national"}], "count": 1}


def test_ensure_creates_one_key_and_then_reuses_it(keys: Path) -> None:
    ring = signing.ensure(keys, "listing")
    assert len(ring.private) == 1 and set(ring.public) == set(ring.private)
    assert ring.active_kid.startswith("listing-")
    assert signing.ensure(keys, "listing").active_kid == ring.active_kid
    assert len(list((keys / "listing").glob("*.key.pem"))) == 1


def test_private_key_file_is_owner_only(keys: Path) -> None:
    kid = signing.rotate(keys, "listing")
    assert (keys / "listing" / f"{kid}.key.pem").stat().st_mode & 0o077 == 0


def test_jwt_round_trip(keys: Path) -> None:
    ring = signing.ensure(keys, "listing")
    token = ring.sign_jwt(claims(role="x"))
    assert jwt.get_unverified_header(token)["kid"] == ring.active_kid
    assert ring.verify_jwt(token, audience="test")["role"] == "x"


def test_jwt_wrong_audience_or_issuer_is_refused(keys: Path) -> None:
    ring = signing.ensure(keys, "listing")
    with pytest.raises(jwt.InvalidAudienceError):
        ring.verify_jwt(ring.sign_jwt(claims()), audience="other")
    with pytest.raises(jwt.InvalidIssuerError):
        ring.verify_jwt(ring.sign_jwt(claims(issuer="someone-else")), audience="test")


def test_rotation_keeps_old_signatures_valid(keys: Path, clock_file: Path) -> None:
    ring = signing.ensure(keys, "listing")
    old_kid = ring.active_kid
    old_token = ring.sign_jwt(claims())
    old_sig = ring.sign_document(DOC)

    clock.set_clock(clock_file, at=T0 + timedelta(minutes=1))  # the old token is still live
    new_kid = signing.rotate(keys, "listing")
    ring = signing.load(keys, "listing")

    assert new_kid != old_kid and ring.active_kid == new_kid
    assert set(ring.public) == {old_kid, new_kid}
    assert jwt.get_unverified_header(ring.sign_jwt(claims()))["kid"] == new_kid
    assert ring.sign_document(DOC)["kid"] == new_kid
    assert ring.verify_jwt(old_token, audience="test")["sub"] == "u1"
    assert ring.verify_document(DOC, old_sig)


def test_rotating_twice_under_a_frozen_clock_keeps_both_keys(keys: Path) -> None:
    """Test stacks freeze the clock; a rotation then must still make a new key, not overwrite
    the one that signed everything so far."""
    ring = signing.ensure(keys, "listing")
    old_sig = ring.sign_document(DOC)
    new_kid = signing.rotate(keys, "listing")
    ring = signing.load(keys, "listing")
    assert new_kid != old_sig["kid"]
    assert len(ring.public) == 2 and ring.active_kid == new_kid
    assert ring.verify_document(DOC, old_sig)


def test_public_keys_alone_verify(keys: Path, tmp_path: Path) -> None:
    ring = signing.ensure(keys, "listing")
    sig = ring.sign_document(DOC)
    token = ring.sign_jwt(claims())
    published = tmp_path / "published" / "listing"
    published.mkdir(parents=True)
    for pub in (keys / "listing").glob("*.pub.pem"):
        shutil.copy(pub, published / pub.name)
    verifier = signing.load(tmp_path / "published", "listing")
    assert not verifier.private and set(verifier.public_pems()) == {ring.active_kid}
    assert verifier.verify_document(DOC, sig)
    assert verifier.verify_jwt(token, audience="test")["sub"] == "u1"
    with pytest.raises(RuntimeError):
        verifier.sign_document(DOC)


# --- documents -------------------------------------------------------------------------------


def test_document_signature_names_issuer_and_kid(keys: Path) -> None:
    ring = signing.ensure(keys, "listing")
    sig = ring.sign_document(DOC)
    assert sig["issuer"] == "listing" and sig["kid"] == ring.active_kid
    assert ring.verify_document(DOC, sig)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(count=2),
        lambda d: d["entries"][0].update(level="provincial"),
        lambda d: d["entries"].append({"uscc": "A2", "level": "national"}),
        lambda d: d.pop("list"),
    ],
)
def test_modified_document_is_refused(keys: Path, change: Any) -> None:
    ring = signing.ensure(keys, "listing")
    sig = ring.sign_document(DOC)
    modified = copy.deepcopy(DOC)
    change(modified)
    assert not ring.verify_document(modified, sig)


def test_canonical_json_ignores_key_order(keys: Path) -> None:
    ring = signing.ensure(keys, "listing")
    sig = ring.sign_document({"b": [1, 2], "a": {"y": "乙", "x": "甲"}})
    assert ring.verify_document({"a": {"x": "甲", "y": "乙"}, "b": [1, 2]}, sig)
    assert not ring.verify_document({"a": {"x": "甲", "y": "乙"}, "b": [2, 1]}, sig)


def test_bad_signatures_are_refused_not_raised(keys: Path) -> None:
    ring = signing.ensure(keys, "listing")
    sig = ring.sign_document(DOC)
    assert not ring.verify_document(DOC, {**sig, "kid": "listing-unknown"})
    assert not ring.verify_document(DOC, {**sig, "sig": "not base64!"})
    assert not ring.verify_document(DOC, {"kid": sig["kid"]})
    other = signing.ensure(keys, "review").sign_document(DOC)
    assert not ring.verify_document(DOC, {**other, "kid": sig["kid"]})
