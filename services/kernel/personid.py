"""Resident identity numbers (居民身份证号码, GB 11643-1999), for legal representatives.

Two services compare legal representatives (SPEC §9: related parties, the national cap of 15
projects per legal representative). They compare keys, never the numbers: a number is checked,
then kept only as a key and a masked form for display. The key is an HMAC-SHA256 under a
platform secret, because ID numbers are few enough to be found again from a plain hash. The
registry and the institutions service must share the secret: ``GL_PERSON_KEY_SECRET``, or else
the file ``<keys dir>/person-key`` (made once, by whichever process needs it first).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from services.kernel.config import Settings
from services.kernel.errors import invalid

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


@dataclass(frozen=True)
class PersonId:
    key: str       # HMAC-SHA256 of the normalized number under the platform's secret
    masked: str    # 3201**********123X


def check_digit(first17: str) -> str:
    return CHECK[sum(int(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True)) % 11]


def person_secret(settings: Settings) -> bytes:
    return settings.person_key_secret.encode() or _file_secret(settings.keys / "person-key")


@lru_cache(maxsize=4)
def _file_secret(path: Path) -> bytes:
    """The secret in ``path``, written first if there is none: a complete file appears at once
    (link of a finished temporary file), so two processes starting together agree."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()


def parse_person_id(raw: str, field: str = "legal_rep_id", *, secret: bytes) -> PersonId:
    """A valid 18-character number (region, birth date, check digit), or a clear refusal."""
    number = raw.strip().upper()
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise invalid("person_id.format", field=field)
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise invalid("person_id.birth_date", field=field) from None
    if check_digit(number[:17]) != number[17]:
        raise invalid("person_id.checksum", field=field)
    return PersonId(key=hmac.new(secret, number.encode(), hashlib.sha256).hexdigest(),
                    masked=f"{number[:4]}{'*' * 10}{number[14:]}")
