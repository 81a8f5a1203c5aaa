"""Bulk files (CSV, XLSX) → rows of text, with file-level problems refused before anything is
written. Row-level checks are the importing service's: each row is accepted or refused alone.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, time

import logging
from collections.abc import Callable

from services.kernel.errors import DomainError, invalid, nul_refusal

logger = logging.getLogger("greenladder.bulk")


def _decode(content: bytes) -> str:
    # Excel in China saves CSV as GB18030/GBK unless told otherwise; UTF-8 (with BOM) first.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise invalid("import.encoding")


def _csv_rows(content: bytes) -> list[list[str]]:
    try:
        return [row for row in csv.reader(io.StringIO(_decode(content), newline=""))]
    except csv.Error as exc:
        raise invalid("import.csv_malformed", reason=str(exc)) from None


def _xlsx_rows(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # 14 MB of imports, only when a workbook arrives

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise invalid("import.xlsx_malformed", reason=type(exc).__name__) from None
    sheet = book.worksheets[0]
    rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    return rows


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # a date typed into Excel
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 3311.0 typed into Excel is the code 3311
    return str(value).strip()


def parse(
    content: bytes,
    fmt: str,
    *,
    required: set[str],
    optional: set[str] = frozenset(),  # type: ignore[assignment]
    aliases: dict[str, str] | None = None,
    max_rows: int = 20000,
) -> list[dict[str, str] | DomainError]:
    """Rows as dicts keyed by the header. Blank lines are skipped; row numbers stay as in the file."""
    if not content:
        raise invalid("import.empty")
    if fmt == "csv":
        rows = _csv_rows(content)
    elif fmt == "xlsx":
        rows = _xlsx_rows(content)
    else:
        raise invalid("import.format", value=fmt)
    if not any(any(str(v).strip() for v in row) for row in rows):
        raise invalid("import.empty")
    while not any(str(v).strip() for v in rows[0]):
        rows = rows[1:]  # leading blank lines before the header
    # Chinese headers as the source systems write them (统一社会信用代码 …) map to our names.
    names = aliases or {}
    header = [names.get(h.strip(), h.strip().lower()) for h in rows[0]]
    missing = required - set(header)
    if missing:
        raise invalid("import.columns_missing", columns=", ".join(sorted(missing)))
    unknown = set(h for h in header if h) - required - set(optional)
    if unknown:
        raise invalid("import.columns_unknown", columns=", ".join(sorted(unknown)))
    data = rows[1:]
    if len(data) > max_rows:
        raise invalid("import.too_many_rows", rows=len(data), max=max_rows)
    out: list[dict[str, str] | DomainError] = []
    for values in data:
        if not any(str(v).strip() for v in values):
            out.append({})  # keep numbering; an empty row is skipped by the importer
            continue
        extra = [v for v in values[len(header):] if str(v).strip()]
        if extra:  # an unquoted comma in a value would otherwise shift or lose data silently
            out.append(invalid("import.row_extra_values", count=len(extra), columns=len(header)))
            continue
        row = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header) if h}
        nul = next((r for r in (nul_refusal(v, h) for h, v in row.items()) if r), None)
        out.append(nul.error() if nul else row)  # a NUL in a cell refuses its row, naming the column
    return out


def each_row(
    rows: list[dict[str, str] | DomainError],
    lang: str,
    apply: Callable[[dict[str, str]], tuple[str, bool]],
) -> list[dict]:
    """Apply each row alone: accepted with the id it made (``existing`` when it was already
    there) or refused with its code and message. Row numbers count data rows from 1.

    ``apply`` writes a row in one transaction of its own, so a row that fails wrote nothing.
    Every row is processed and answered: a row that fails for a reason no rule names (a
    database error) is refused as ``import.row_failed`` with the error's kind, and logged with
    its traceback — the rows after it are still applied."""
    results: list[dict] = []
    for number, row in enumerate(rows, start=1):
        if row == {}:
            continue
        try:
            if isinstance(row, DomainError):
                raise row
            row_id, existing = apply(row)
            results.append({"row": number, "accepted": True, "id": row_id, "existing": existing})
        except DomainError as exc:
            results.append({"row": number, "accepted": False, "code": exc.code,
                            "message": exc.message(lang)})
        except Exception as exc:  # noqa: BLE001 - one row's failure is that row's answer
            logger.exception("import row %d failed", number)
            failed = invalid("import.row_failed", reason=_reason(exc))
            results.append({"row": number, "accepted": False, "code": failed.code,
                            "message": failed.message(lang)})
    return results


def _reason(exc: Exception) -> str:
    """What kind of failure, without internals: the database driver's error class when there
    is one (``DataError``), else the exception's class."""
    orig = getattr(exc, "orig", None)
    return type(orig if isinstance(orig, Exception) else exc).__name__
