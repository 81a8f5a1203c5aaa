"""Resident identity numbers (居民身份证号码, GB 11643-1999), for legal representatives.

Two services compare legal representatives (SPEC §9: related parties, the national cap of 15
projects per legal representative). They compare keys, never the numbers: a number is checked,
then kept only as a sha256 key and a masked form for display.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from services.kernel.errors import invalid

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


@dataclass(frozen=True)
class PersonId:
    key: str       # sha256 of the normalized number
    masked: str    # 3201**********123X


def check_digit(first17: str) -> str:
    return CHECK[sum(int(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True)) % 11]


def parse_person_id(raw: str, field: str = "legal_rep_id") -> PersonId:
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
    return PersonId(key=hashlib.sha256(number.encode()).hexdigest(),
                    masked=f"{number[:4]}{'*' * 10}{number[14:]}")
