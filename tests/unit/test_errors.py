"""Domain errors, their statuses and their messages (services/kernel/errors.py)."""

from __future__ import annotations

import string
from pathlib import Path

import grpc
import pytest
import yaml

from services.kernel import errors
from services.kernel.errors import DomainError, Kind, invalid, kind_of_status, language, render

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(ROOT.glob("services/**/messages*.yaml")) + [
    ROOT / "gateway" / "data" / "messages.yaml"
]


# --- Accept-Language -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "zh"),
        ("", "zh"),
        ("en", "en"),
        ("EN", "en"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh-TW", "zh"),
        ("fr", "zh"),
        ("fr-FR,en;q=0.5", "en"),
        ("en;q=0.5, zh;q=0.9", "zh"),
        ("en;q=0.9, zh;q=0.5", "en"),
        ("de, *;q=0.1", "zh"),
        ("en;q=bogus, zh;q=0.4", "zh"),
    ],
)
def test_language(header: str | None, lang: str) -> None:
    assert language(header) == lang


def test_language_allows_spaces_around_the_weight() -> None:
    """RFC 9110 §12.4.2: weight = OWS ";" OWS "q=" qvalue, so "en; q=0.5" means "en;q=0.5"."""
    assert language("zh;q=0.9, en; q=0.5") == "zh"


# --- catalogues ------------------------------------------------------------------------------


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def _messages() -> list[tuple[str, str, dict]]:
    out = []
    for path in CATALOGUES:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out.extend((str(path.relative_to(ROOT)), code, texts) for code, texts in data.items())
    return out


def test_the_catalogues_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in CATALOGUES}
    assert {"services/kernel/messages.yaml", "services/registry/data/messages.yaml",
            "gateway/data/messages.yaml"} <= names
    assert len(_messages()) > 50


@pytest.mark.parametrize(("path", "code", "texts"), _messages(),
                         ids=[f"{path}:{code}" for path, code, _ in _messages()])
def test_message_has_zh_and_en_with_the_same_placeholders(
    path: str, code: str, texts: dict
) -> None:
    assert isinstance(texts, dict), f"{path}: {code}"
    zh, en = texts.get("zh"), texts.get("en")
    assert isinstance(zh, str) and zh.strip(), f"{path}: {code} has no zh"
    assert isinstance(en, str) and en.strip(), f"{path}: {code} has no en"
    assert _placeholders(zh) == _placeholders(en), f"{path}: {code}"
    assert all(p.isidentifier() for p in _placeholders(zh)), f"{path}: {code}"


def test_no_code_is_defined_twice_with_different_texts() -> None:
    seen: dict[str, tuple[str, dict]] = {}
    for path, code, texts in _messages():
        if code in seen:
            assert seen[code][1] == texts, f"{code} in {seen[code][0]} and {path}"
        seen[code] = (path, texts)


# --- rendering -------------------------------------------------------------------------------


def test_message_renders_params_in_both_languages() -> None:
    err = invalid("uscc.length", value="9132", length=4)
    assert "9132" in err.message() and "4" in err.message()
    assert err.message("en") == (
        'Unified social credit code "9132" has 4 characters; it must have exactly 18'
    )
    assert err.message("zh") == err.message()
    assert err.message("zh") != err.message("en")


def test_message_for_an_unknown_code_shows_code_and_params() -> None:
    assert DomainError("no.such.code").message() == "no.such.code"
    assert "no.such.code" in DomainError("no.such.code", x=1).message("en")


def test_missing_param_does_not_crash_rendering() -> None:
    assert "{value}" in render("uscc.length", "en", length=4)


def test_error_str_and_kind() -> None:
    err = invalid("uscc.length", value="X", length=1)
    assert err.code == "uscc.length" and err.kind is Kind.INVALID
    assert str(err) == "uscc.length {'value': 'X', 'length': 1}"
    assert errors.forbidden("auth.outside_city").kind.http_status == 403
    assert errors.not_found("tenant.unknown").kind.grpc_status is grpc.StatusCode.NOT_FOUND


def test_a_param_may_be_called_kind() -> None:
    """Messages name what they are about: "{kind}" of a unit is a natural parameter."""
    err = invalid("unit.park_fields_on_non_park", kind="factory")
    assert err.kind is Kind.INVALID and err.params == {"kind": "factory"}


@pytest.mark.parametrize(
    ("kind", "grpc_code", "http"),
    [
        (Kind.INVALID, grpc.StatusCode.INVALID_ARGUMENT, 422),
        (Kind.NOT_FOUND, grpc.StatusCode.NOT_FOUND, 404),
        (Kind.CONFLICT, grpc.StatusCode.ALREADY_EXISTS, 409),
        (Kind.PRECONDITION, grpc.StatusCode.FAILED_PRECONDITION, 409),
        (Kind.UNAUTHENTICATED, grpc.StatusCode.UNAUTHENTICATED, 401),
        (Kind.FORBIDDEN, grpc.StatusCode.PERMISSION_DENIED, 403),
        (Kind.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE, 503),
    ],
)
def test_kind_maps_to_grpc_and_http_and_back(kind: Kind, grpc_code: grpc.StatusCode,
                                             http: int) -> None:
    assert kind.grpc_status is grpc_code and kind.http_status == http
    assert kind_of_status(grpc_code) is kind


def test_unmapped_grpc_status_is_internal() -> None:
    assert kind_of_status(grpc.StatusCode.UNKNOWN) is Kind.INTERNAL
    assert kind_of_status(grpc.StatusCode.DEADLINE_EXCEEDED) is Kind.UNAVAILABLE


# --- load_messages ---------------------------------------------------------------------------


@pytest.fixture
def catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    """A private copy of the catalogue, so these tests leave the real one as it was."""
    monkeypatch.setattr(errors, "_CATALOGUE", dict(errors._CATALOGUE))


def test_load_messages_refuses_a_redefinition(tmp_path: Path, catalogue: None) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("test.redefined:\n  zh: 甲 {x}\n  en: A {x}\n", encoding="utf-8")
    errors.load_messages(first)
    errors.load_messages(first)  # the same text again is fine
    assert render("test.redefined", "en", x=1) == "A 1"
    second = tmp_path / "b.yaml"
    second.write_text("test.redefined:\n  zh: 乙\n  en: B\n", encoding="utf-8")
    with pytest.raises(ValueError, match="defined twice"):
        errors.load_messages(second)


def test_load_messages_needs_both_languages(tmp_path: Path, catalogue: None) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("test.only_zh:\n  zh: 只有中文\n", encoding="utf-8")
    with pytest.raises(ValueError, match="zh and en"):
        errors.load_messages(path)
