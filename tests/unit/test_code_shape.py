"""The shape every service copies (docs/ARCHITECTURE.md), checked on the source itself.

- No hand-written module under services/ or gateway/ is longer than 400 lines.
- No service imports another service; the gateway imports none of them (only the kernel).
- Events are typed: no event type string beside its message at a ``record`` call, no matching of
  an envelope's type string in a consumer.
- Use cases raise no refusal of their own: every refusal is decided by a domain function (or by
  the kernel's authorisation), so a handler module holds no ``raise SomeError(...)``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir()
                  if p.is_dir() and (p / "__init__.py").exists() and p.name != "kernel")


def _modules(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py")
                  if "__pycache__" not in p.parts)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_module_is_longer_than_400_lines() -> None:
    long = {_rel(p): n for p in _modules("services", "gateway")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT}
    assert not long, f"split these by sub-domain (ARCHITECTURE.md, 'Sizes'): {long}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = {f"services.{s}" for s in SERVICES if s != service}
    found = {_rel(p): sorted(i for i in _imports(p) if i.split(".")[:2] and
                             ".".join(i.split(".")[:2]) in others)
             for p in _modules(f"services/{service}")}
    assert not {k: v for k, v in found.items() if v}, "what two services need goes into the kernel"


def test_the_kernel_and_the_gateway_import_no_service() -> None:
    services = {f"services.{s}" for s in SERVICES}
    found = {_rel(p): sorted(i for i in _imports(p) if ".".join(i.split(".")[:2]) in services)
             for p in _modules("services/kernel", "gateway")}
    assert not {k: v for k, v in found.items() if v}


_TYPE_LITERAL = re.compile(r"""["'][a-z_]+\.[a-z_]+["']""")


def test_events_are_typed_not_named_beside_their_message() -> None:
    offences = []
    for path in _modules("services", "gateway"):
        if path.parts[-3:-1] == ("kernel", "bus"):
            continue  # the bus itself moves type names between envelope and subject
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            # rt.record(s, "unit.registered", ev.UnitRegistered(...)) — the class names the event
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("record", "record_event")
                    and any(isinstance(a, ast.Constant) and isinstance(a.value, str)
                            and _TYPE_LITERAL.fullmatch(repr(a.value)) for a in node.args)):
                offences.append(f"{_rel(path)}:{node.lineno} type string at record()")
            # env.type == "entry.added" — consumers are dispatched by message class
            if (isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute)
                    and node.left.attr == "type"):
                offences.append(f"{_rel(path)}:{node.lineno} matches a type string")
    assert not offences, offences


def _handler_modules() -> list[Path]:
    paths = []
    for service in SERVICES:
        base = ROOT / "services" / service
        paths += [p for p in [base / "handlers.py"] if p.exists()]
        paths += sorted((base / "handlers").glob("*.py")) if (base / "handlers").is_dir() else []
    return paths


def test_there_are_handler_modules_to_check() -> None:
    assert {p.parts[-2] if p.name == "handlers.py" else p.parts[-3]
            for p in _handler_modules()} == set(SERVICES)


@pytest.mark.parametrize("path", _handler_modules(), ids=_rel)
def test_handlers_raise_no_refusal_of_their_own(path: Path) -> None:
    """load → decide (domain) → store → record: a refusal is a domain function's decision."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    raising = [f"{_rel(path)}:{node.lineno}" for node in ast.walk(tree)
               if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)]
    assert not raising, f"move each refusal into the domain: {raising}"
