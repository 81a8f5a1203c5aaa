"""Unified social credit code (GB 32100-2015)."""

from __future__ import annotations

import pytest

from services.kernel.errors import DomainError, Kind
from services.kernel.uscc import CHARSET, WEIGHTS, check_char, parse_uscc, validate_uscc

REAL = ["914403001922038216", "91440300708461136T", "91350100M000100Y43"]
LEGAL_BUT_FAILING = ["91350100M0001TGQXM", "91350211M0000XUF46"]


def _make(first17: str) -> str:
    return first17 + check_char(first17)


def _refusal(raw: str, **kwargs: str) -> DomainError:
    with pytest.raises(DomainError) as info:
        validate_uscc(raw, **kwargs)
    assert info.value.kind is Kind.INVALID
    return info.value


def test_weights_are_powers_of_three_mod_31() -> None:
    assert WEIGHTS == tuple(pow(3, i, 31) for i in range(17))
    assert len(CHARSET) == 31 and not set("IOSVZ") & set(CHARSET)


@pytest.mark.parametrize("code", REAL)
def test_real_codes_pass(code: str) -> None:
    check = validate_uscc(code)
    assert check.checksum_ok and check.code == code and check.expected_check == code[-1]


@pytest.mark.parametrize(
    "first17", ["91330212MA2H0QXW0", "92110105L12345678", "12650000K00001234", "91100000100003962"]
)
def test_generated_codes_pass(first17: str) -> None:
    assert validate_uscc(_make(first17)).checksum_ok


def test_national_registration_region_is_accepted() -> None:
    assert validate_uscc("91100000100003962T").checksum_ok  # ICBC, registered by a national office


def test_lower_case_and_spaces_are_normalised() -> None:
    check = validate_uscc("  91440300708461136t ")
    assert check.code == "91440300708461136T" and check.checksum_ok


@pytest.mark.parametrize(
    "raw, length", [("9144030070846113", 16), ("914403007084611360X", 19), ("", 0)]
)
def test_wrong_length(raw: str, length: int) -> None:
    error = _refusal(raw)
    assert error.code == "uscc.length" and error.params["length"] == length
    assert "18" in error.message("zh") and str(length) in error.message("en")


@pytest.mark.parametrize("bad", ["I", "O", "S", "V", "Z", "-", "中"])
def test_forbidden_character(bad: str) -> None:
    raw = "9144030070846113" + bad + "T"
    error = _refusal(raw)
    assert error.code == "uscc.charset"
    assert error.params == {"value": raw, "position": 17, "char": bad}
    assert "17" in error.message("en") and bad in error.message("zh")


@pytest.mark.parametrize("region", ["990300", "004403", "A40300", "710000", "100100"])
def test_implausible_region(region: str) -> None:
    error = _refusal(_make("91" + region + "708461136"))
    assert error.code == "uscc.region" and error.params["region"] == region


def test_old_region_code_is_accepted() -> None:
    # 330103 (杭州 下城区) was abolished in 2021; codes issued there keep it.
    assert validate_uscc(_make("91330103MA27XXXXX")).checksum_ok


@pytest.mark.parametrize("code", LEGAL_BUT_FAILING)
def test_checksum_failure_is_refused_without_override(code: str) -> None:
    error = _refusal(code)
    assert error.code == "uscc.checksum"
    assert error.params == {"value": code, "expected": check_char(code[:17])}
    assert error.params["expected"] in error.message("zh")


@pytest.mark.parametrize("code", LEGAL_BUT_FAILING)
def test_checksum_failure_is_accepted_with_a_reason(code: str) -> None:
    check = validate_uscc(code, override_reason="营业执照原件核对无误（早期试点代码）")
    assert check.code == code and not check.checksum_ok
    assert check.expected_check == check_char(code[:17]) != code[-1]


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_blank_reason_is_refused(reason: str) -> None:
    error = _refusal(LEGAL_BUT_FAILING[0], override_reason=reason)
    assert error.code == "uscc.override_reason_required"


def test_reason_is_ignored_for_a_valid_code() -> None:
    assert validate_uscc(REAL[0], override_reason="").checksum_ok


def test_malformed_is_refused_even_with_a_reason() -> None:
    assert _refusal("91440300", override_reason="reason").code == "uscc.length"


def test_parse_reports_checksum_without_raising() -> None:
    check = parse_uscc(LEGAL_BUT_FAILING[1])
    assert not check.checksum_ok and check.expected_check == "R"
