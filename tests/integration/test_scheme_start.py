"""The real evaluation process refuses to start with a bad scheme file, naming every defect of
every file on stderr and in its log (issue 9 §2). (With good files it starts: every stack test
starts it.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deploy.local.stack import free_port
from services.evaluation.__main__ import SCHEMES_INVALID
from services.evaluation.schemes import SCHEMES
from services.kernel.config import ROOT
from tests.unit.test_schemes import BASE

pytestmark = pytest.mark.stack


def _env(var_dir: Path, schemes_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    env.update(GL_VAR_DIR=str(var_dir), GL_TENANTS="320000", GL_SCHEMES_DIR=str(schemes_dir),
               GL_GRPC_PORT=str(free_port()), GL_OTEL_EXPORTER="none",
               GL_NATS_URL=f"nats://127.0.0.1:{free_port()}", PYTHONUNBUFFERED="1", **extra)
    return env


def test_a_bad_scheme_file_stops_the_start_naming_every_defect(tmp_path: Path) -> None:
    folder = tmp_path / "schemes"
    folder.mkdir()
    bad = yaml.safe_load(BASE)
    bad["total"] = 12                                            # does not add up
    bad["categories"][0]["indicators"][0]["leading"] = 0.5       # baseline = leading
    (folder / "bad.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True), "utf-8")
    (folder / "broken.yaml").write_text("id: x\ncategories: [\n  - a: b\n", "utf-8")
    with (folder / "huge.yaml").open("wb") as f:                 # sparse 50 MB
        f.write(b"id: huge\n")
        f.truncate(50 * 1024 * 1024)
    (folder / "again.yaml").write_text(
        (SCHEMES / "gbt36132-2025.yaml").read_text("utf-8"), "utf-8")  # a shipped version
    log = tmp_path / "evaluation.log"
    done = subprocess.run([sys.executable, "-m", "services.evaluation"], cwd=ROOT, check=False,
                          env=_env(tmp_path / "var", folder, GL_LOG_FILE=str(log)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == SCHEMES_INVALID, done.stderr
    expected = [
        ("again.yaml", "version", "gbt36132-2025 version 1 is shipped already"),
        ("bad.yaml", "categories[0].indicators[0].leading", "leading value equals the baseline"),
        ("bad.yaml", "total", "categories add up to 10, the scheme says 12"),
        ("broken.yaml", "line 3", "not valid YAML"),
        ("huge.yaml", "(root)", "file is 52428800 bytes, over the limit of 1048576 bytes"),
    ]
    assert "not started: 5 defect(s) in the scheme files" in done.stderr
    for file, path, problem in expected:
        assert any(f"{folder}/{file}: {path}: {problem}" in line
                   for line in done.stderr.splitlines()), (file, done.stderr)
    logged = [json.loads(line) for line in log.read_text("utf-8").splitlines()]
    named = [(e.get("file"), e.get("path")) for e in logged
             if e.get("msg") == "scheme file invalid"]
    assert named == [(file, path) for file, path, _ in expected]
    assert not (tmp_path / "var" / "data").exists()  # stopped before any storage was touched
