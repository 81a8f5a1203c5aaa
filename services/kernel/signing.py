"""Signing keys: Ed25519, one key ring per issuer, key ids, rotation (ARCHITECTURE §7, SPEC §13).

A key ring lives in a directory ``<keys>/<issuer>/``: ``<kid>.key.pem`` (private, only on the
issuer's machine) and ``<kid>.pub.pem`` (public, given to verifiers). The newest kid signs;
every kid still present verifies, so rotating never invalidates what was signed before.
Signed documents are canonical JSON (RFC 8785). The algorithm is behind this one module so an
SM2/SM3 implementation can be added without touching the services.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.kernel import clock


@dataclass
class KeyRing:
    issuer: str
    public: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    private: dict[str, Ed25519PrivateKey] = field(default_factory=dict)

    @property
    def active_kid(self) -> str:
        if not self.private:
            raise RuntimeError(f"no signing key for issuer {self.issuer}")
        return max(self.private)

    # --- JWT (login sessions, internal tokens) -----------------------------------------------

    def sign_jwt(self, claims: dict[str, Any]) -> str:
        kid = self.active_kid
        return jwt.encode(claims, self.private[kid], algorithm="EdDSA", headers={"kid": kid})

    def verify_jwt(self, token: str, *, audience: str) -> dict[str, Any]:
        """Raises jwt.InvalidTokenError (expired, unknown kid, bad signature, wrong audience)."""
        kid = jwt.get_unverified_header(token).get("kid", "")
        key = self.public.get(kid)
        if key is None:
            raise jwt.InvalidTokenError(f"unknown key id {kid!r}")
        # Expiry is checked against the platform clock, not the system one: tests move time.
        claims = jwt.decode(
            token, key, algorithms=["EdDSA"], audience=audience, issuer=self.issuer,
            options={"require": ["exp", "iat", "sub"], "verify_exp": False, "verify_iat": False},
        )
        if claims["exp"] <= clock.now().timestamp():
            raise jwt.ExpiredSignatureError("token expired")
        return claims

    # --- canonical documents -----------------------------------------------------------------

    def sign_document(self, document: Any) -> dict[str, str]:
        kid = self.active_kid
        sig = self.private[kid].sign(rfc8785.dumps(document))
        return {"issuer": self.issuer, "kid": kid, "sig": base64.b64encode(sig).decode()}

    def verify_document(self, document: Any, signature: dict[str, str]) -> bool:
        key = self.public.get(signature.get("kid", ""))
        if key is None:
            return False
        try:
            key.verify(base64.b64decode(signature["sig"]), rfc8785.dumps(document))
        except (InvalidSignature, ValueError, KeyError):
            return False
        return True

    # --- bytes (event envelopes) ---------------------------------------------------------------

    def sign_bytes(self, data: bytes, *, purpose: bytes) -> tuple[str, bytes]:
        """(kid, signature) over ``purpose`` + ``data``: the purpose separates what one key signs
        for different uses, so an event signature is never valid as anything else."""
        kid = self.active_kid
        return kid, self.private[kid].sign(purpose + b"\0" + data)

    def verify_bytes(self, kid: str, data: bytes, signature: bytes, *, purpose: bytes) -> bool:
        key = self.public.get(kid)
        if key is None:
            return False
        try:
            key.verify(signature, purpose + b"\0" + data)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_pems(self) -> dict[str, str]:
        return {
            kid: key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode()
            for kid, key in sorted(self.public.items())
        }


def load(keys_dir: Path, issuer: str, *, public_only: bool = False) -> KeyRing:
    """The issuer's ring; verifiers load ``public_only`` so they can never sign."""
    ring = KeyRing(issuer)
    folder = keys_dir / issuer
    for pub in sorted(folder.glob("*.pub.pem")):
        ring.public[pub.name.removesuffix(".pub.pem")] = serialization.load_pem_public_key(
            pub.read_bytes()
        )  # type: ignore[assignment]
    for priv in [] if public_only else sorted(folder.glob("*.key.pem")):
        ring.private[priv.name.removesuffix(".key.pem")] = serialization.load_pem_private_key(
            priv.read_bytes(), password=None
        )  # type: ignore[assignment]
    return ring


class PublicKeys:
    """Every issuer's public keys under ``keys_dir``, loaded when first asked for, read again
    every ``max_age_seconds`` and (at most once a second per issuer) when a key id is not known:
    a new issuer's first key or a rotation is picked up at once, and a public key removed from
    the folder (a leaked key, see the operator guide) stops verifying within a minute."""

    def __init__(self, keys_dir: Path, *, reload_seconds: float = 1.0,
                 max_age_seconds: float = 60.0) -> None:
        self.keys_dir = keys_dir
        self.reload_seconds = reload_seconds
        self.max_age_seconds = max_age_seconds
        self._rings: dict[str, tuple[float, KeyRing]] = {}

    def ring(self, issuer: str, *, kid: str = "") -> KeyRing:
        """The issuer's ring, read again when old or when ``kid`` is not in it."""
        if not issuer.replace("_", "").isalnum():  # never a path outside the keys folder
            return KeyRing(issuer)
        now = time.monotonic()
        loaded = self._rings.get(issuer)
        if (loaded is None or now - loaded[0] >= self.max_age_seconds
                or (kid and kid not in loaded[1].public
                    and now - loaded[0] >= self.reload_seconds)):
            loaded = (now, load(self.keys_dir, issuer, public_only=True))
            self._rings[issuer] = loaded
        return loaded[1]

    def verify(self, issuer: str, kid: str, data: bytes, signature: bytes, *,
               purpose: bytes) -> bool:
        return self.ring(issuer, kid=kid).verify_bytes(kid, data, signature, purpose=purpose)


@lru_cache(maxsize=None)
def signer(keys_dir: Path, issuer: str) -> KeyRing:
    """The ring a process signs with as ``issuer``, created on first use and kept for the life
    of the process: after a rotation, restart the process to sign with the new key."""
    return ensure(keys_dir, issuer)


def rotate(keys_dir: Path, issuer: str) -> str:
    """Create a new signing key for ``issuer``; it becomes the active one. Returns its kid."""
    folder = keys_dir / issuer
    folder.mkdir(parents=True, exist_ok=True)
    kid = f"{issuer}-{clock.now().strftime('%Y%m%d%H%M%S%f')}"
    newest = max((p.name.removesuffix(".pub.pem") for p in folder.glob("*.pub.pem")), default="")
    if kid <= newest:  # a frozen or rewound clock: the new key must still sort last, never reuse
        kid = f"{newest}-1"
    key = Ed25519PrivateKey.generate()
    priv = folder / f"{kid}.key.pem"
    # Created private (0600) and exclusive: never readable by others, never overwriting a key.
    with os.fdopen(os.open(priv, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    (folder / f"{kid}.pub.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return kid


def ensure(keys_dir: Path, issuer: str) -> KeyRing:
    """Load the issuer's ring, creating a first key when there is none."""
    ring = load(keys_dir, issuer)
    if not ring.private:
        rotate(keys_dir, issuer)
        ring = load(keys_dir, issuer)
    return ring


if __name__ == "__main__":
    # python -m services.kernel.signing rotate ISSUER [KEYS_DIR]
    import sys

    from services.kernel.config import get_settings

    if len(sys.argv) < 3 or sys.argv[1] != "rotate":
        raise SystemExit("usage: python -m services.kernel.signing rotate ISSUER [KEYS_DIR]")
    folder = Path(sys.argv[3]) if len(sys.argv) > 3 else get_settings().keys
    print(f"new active key for {sys.argv[2]}: {rotate(folder, sys.argv[2])}")
