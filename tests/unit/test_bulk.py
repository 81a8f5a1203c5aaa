"""Bulk files → rows (services/kernel/bulk.py)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook

from services.kernel.errors import DomainError, Kind
from services.kernel.bulk import parse

REQUIRED = {"uscc", "name"}
OPTIONAL = {"level"}


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def refusal(content: bytes, fmt: str = "csv", **kwargs: Any) -> DomainError:
    kwargs.setdefault("required", REQUIRED)
    kwargs.setdefault("optional", OPTIONAL)
    with pytest.raises(DomainError) as info:
        parse(content, fmt, **kwargs)
    assert info.value.kind is Kind.INVALID
    return info.value


# --- CSV -------------------------------------------------------------------------------------


def test_csv_utf8() -> None:
    rows = parse("uscc,name\nA1,南京绿色工厂\n".encode(), "csv", required=REQUIRED)
    assert rows == [{"uscc": "A1", "name": "南京绿色工厂"}]


def test_csv_utf8_with_bom() -> None:
    content = "\ufeffuscc,name\r\nA1,南京绿色工厂\r\n".encode()
    assert content.startswith(b"\xef\xbb\xbf")
    assert parse(content, "csv", required=REQUIRED) == [{"uscc": "A1", "name": "南京绿色工厂"}]


def test_csv_gb18030() -> None:
    content = "uscc,name,level\nA1,宁波绿色工厂（镇海）,省级\n".encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    rows = parse(content, "csv", required=REQUIRED, optional=OPTIONAL)
    assert rows == [{"uscc": "A1", "name": "宁波绿色工厂（镇海）", "level": "省级"}]


def test_csv_quoted_fields_and_stripping() -> None:
    content = 'uscc,name\n A1 ,"南京, 江宁 ""一厂"""\n'.encode()
    assert parse(content, "csv", required=REQUIRED) == [{"uscc": "A1", "name": '南京, 江宁 "一厂"'}]


def test_header_is_case_insensitive_and_stripped() -> None:
    rows = parse(b" USCC ,Name,LEVEL\nA1,x,national\n", "csv", required=REQUIRED,
                 optional=OPTIONAL)
    assert rows == [{"uscc": "A1", "name": "x", "level": "national"}]


def test_optional_column_may_be_absent_and_short_rows_are_padded() -> None:
    rows = parse(b"uscc,name,level\nA1,x\n", "csv", required=REQUIRED, optional=OPTIONAL)
    assert rows == [{"uscc": "A1", "name": "x", "level": ""}]


def test_blank_rows_are_kept_empty_to_preserve_numbering() -> None:
    rows = parse(b"uscc,name\nA1,x\n,\n\n  , \nA2,y\n", "csv", required=REQUIRED)
    assert rows == [{"uscc": "A1", "name": "x"}, {}, {}, {}, {"uscc": "A2", "name": "y"}]


# --- file-level refusals -----------------------------------------------------------------------


def test_missing_columns_are_named() -> None:
    err = refusal(b"level\nnational\n")
    assert err.code == "import.columns_missing"
    assert err.params == {"columns": "name, uscc"}


def test_unknown_columns_are_named() -> None:
    err = refusal(b"uscc,name,colour,Weight\nA1,x,red,3\n")
    assert err.code == "import.columns_unknown"
    assert err.params == {"columns": "colour, weight"}


def test_too_many_rows() -> None:
    content = b"uscc,name\nA1,x\nA2,y\nA3,z\n"
    err = refusal(content, max_rows=2)
    assert err.code == "import.too_many_rows" and err.params == {"rows": 3, "max": 2}
    assert len(parse(content, "csv", required=REQUIRED, max_rows=3)) == 3


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_empty_file(fmt: str) -> None:
    assert refusal(b"", fmt).code == "import.empty"


def test_xlsx_with_an_empty_sheet() -> None:
    assert refusal(xlsx([]), "xlsx").code == "import.empty"


def test_unknown_format() -> None:
    err = refusal(b"uscc,name\n", "xls")
    assert err.code == "import.format" and err.params == {"value": "xls"}


def _zip_without_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    return buf.getvalue()


@pytest.mark.parametrize(
    "content",
    [b"uscc,name\nA1,x\n", b"PK\x03\x04 truncated", _zip_without_workbook()],
    ids=["csv-bytes", "truncated-zip", "zip-without-workbook"],
)
def test_malformed_xlsx(content: bytes) -> None:
    assert refusal(content, "xlsx").code == "import.xlsx_malformed"


# --- XLSX ------------------------------------------------------------------------------------


def test_xlsx_rows() -> None:
    content = xlsx([
        ["USCC", "name", "Level"],
        ["A1", "南京绿色工厂", "national"],
        ["A2", " 苏州 ", None],
        [None, None, None],
        ["A3", 2024, "provincial"],
    ])
    rows = parse(content, "xlsx", required=REQUIRED, optional=OPTIONAL)
    assert rows == [
        {"uscc": "A1", "name": "南京绿色工厂", "level": "national"},
        {"uscc": "A2", "name": "苏州", "level": ""},
        {},
        {"uscc": "A3", "name": "2024", "level": "provincial"},
    ]


def test_xlsx_missing_columns_are_named() -> None:
    err = refusal(xlsx([["uscc"], ["A1"]]), "xlsx")
    assert err.code == "import.columns_missing" and err.params == {"columns": "name"}


def test_xlsx_too_many_rows() -> None:
    content = xlsx([["uscc", "name"], ["A1", "x"], ["A2", "y"]])
    assert refusal(content, "xlsx", max_rows=1).code == "import.too_many_rows"
