"""Unified social credit code (统一社会信用代码, GB 32100-2015).

18 characters: registration authority (1), entity type (2), GB/T 2260 region of the registering
office (3–8), organization code (9–17), check character (18). A malformed code is refused; a
checksum failure is refused unless the caller gives a reason to accept it, because some legally
issued early codes fail the check (e.g. 91350100M0001TGQXM).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.kernel.errors import invalid

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3**i mod 31
_VALUE = {ch: i for i, ch in enumerate(CHARSET)}

# First two digits of the 31 provincial divisions. Only the prefix is checked: a code keeps the
# region of the office that issued it, which may since have been abolished or re-coded.
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46"
    " 50 51 52 53 54 61 62 63 64 65".split()
)
# Registered by a national authority, e.g. ICBC 91100000100003962T.
_NATIONAL_REGION = "100000"


@dataclass(frozen=True)
class UsccCheck:
    code: str  # normalized: stripped, upper case
    checksum_ok: bool
    expected_check: str  # the check character the first 17 characters call for


def check_char(first17: str) -> str:
    """The GB 32100 check character (position 18) for the first 17 characters."""
    if len(first17) != 17 or any(ch not in _VALUE for ch in first17):
        raise ValueError(f"need 17 characters from the USCC charset, got {first17!r}")
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def parse_uscc(raw: str) -> UsccCheck:
    """Check the form of a code and compute its checksum; malformed codes raise ``uscc.*``."""
    code = raw.strip().upper()
    if len(code) != 18:
        raise invalid("uscc.length", value=code, length=len(code))
    for position, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            raise invalid("uscc.charset", value=code, position=position, char=ch)
    region = code[2:8]
    if not region.isdigit() or (region[:2] not in _PROVINCES and region != _NATIONAL_REGION):
        raise invalid("uscc.region", value=code, region=region)
    expected = check_char(code[:17])
    return UsccCheck(code=code, checksum_ok=code[17] == expected, expected_check=expected)


def validate_uscc(raw: str, *, override_reason: str | None = None) -> UsccCheck:
    """Parse and require a correct checksum, unless ``override_reason`` explains why not.

    With a reason, a failing code comes back with ``checksum_ok`` False: the caller records the
    reason with the unit.
    """
    check = parse_uscc(raw)
    if check.checksum_ok:
        return check
    if override_reason is None:
        raise invalid("uscc.checksum", value=check.code, expected=check.expected_check)
    if not override_reason.strip():
        raise invalid(
            "uscc.override_reason_required", value=check.code, expected=check.expected_check
        )
    return check
