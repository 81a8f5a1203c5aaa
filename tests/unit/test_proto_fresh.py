"""The committed protobuf code is what `make proto` makes from proto/ today (ARCHITECTURE §3)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from services.kernel import protogen

ROOT = Path(__file__).resolve().parents[2]


def _generated_files(base: Path) -> dict[str, bytes]:
    """Generated files under ``base/generated``, by path relative to ``base``."""
    return {
        str(p.relative_to(base)): p.read_bytes()
        for p in sorted((base / protogen.PACKAGE).rglob("*"))
        if p.is_file() and "_pb2" in p.name and p.suffix in (".py", ".pyi")
    }


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("proto")
    # protoc finds the mypy plugins (protoc-gen-mypy, protoc-gen-mypy_grpc) on PATH
    saved = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), saved])
    try:
        written = protogen.generate(out=out)
    finally:
        os.environ["PATH"] = saved
    assert written, "protoc wrote nothing"
    return _generated_files(out)


def test_every_proto_is_generated(regenerated: dict[str, bytes]) -> None:
    for proto in sorted((ROOT / "proto").rglob("*.proto")):
        # proto/greenladder/registry/v1/registry.proto → generated/registry/v1/registry
        stem = str(Path(protogen.PACKAGE, *proto.relative_to(ROOT / "proto" / "greenladder")
                        .with_suffix("").parts))
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi"):
            assert stem + suffix in regenerated, f"{stem}{suffix} not generated"


def test_committed_code_is_byte_identical(regenerated: dict[str, bytes]) -> None:
    committed = _generated_files(ROOT)
    absent = sorted(set(regenerated) - set(committed))
    assert not absent, f"generated but not committed (run `make proto`): {absent}"
    stale = sorted(name for name, body in regenerated.items() if committed[name] != body)
    assert not stale, f"committed code differs from its .proto (run `make proto`): {stale}"


def test_no_committed_generated_file_lacks_its_proto(regenerated: dict[str, bytes]) -> None:
    orphans = sorted(set(_generated_files(ROOT)) - set(regenerated))
    assert not orphans, f"committed but no longer generated (delete them): {orphans}"
