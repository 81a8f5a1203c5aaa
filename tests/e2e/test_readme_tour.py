"""The README's tour, run as written (every ```bash block after "A five-minute tour") against a
stack of its own: what a newcomer pastes works, says what it promises, and writes nothing into
the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from services.kernel.config import ROOT

pytestmark = pytest.mark.stack
README = ROOT / "README.md"


def tour_script() -> str:
    text = README.read_text(encoding="utf-8").split("## A five-minute tour", 1)[1]
    return "\n".join(re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL))


def test_the_readme_tour_runs_as_written(own_stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    own_stack.start()
    a_wrong_password_says_why_and_gives_no_token(own_stack)
    script = tour_script().replace("B=http://127.0.0.1:8800", f"B={own_stack.gateway_url}", 1)
    assert f"B={own_stack.gateway_url}" in script
    before = set(ROOT.iterdir())
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, timeout=300,
                         capture_output=True, text=True)
    out = run.stdout
    assert run.returncode == 0, f"{out}\n{run.stderr}"
    assert set(ROOT.iterdir()) == before, "the tour wrote into the repository"
    for promised in ("auth.outside_city",            # step 4: a city acts only in its city
                     '"rows"',                       # step 5: row-by-row import answer
                     "auth.wrong_tenant",            # step 8: Zhejiang sees nothing of Jiangsu
                     "value.unit_mismatch",          # step 10: a wrong unit is refused
                     "provisional: True",            # step 11: the score says so
                     '"valid":true',                 # step 12: verified online
                     "VALID: signed",                # step 12: and offline
                     "institution.not_found"):       # step 14: no filing, no institution
        assert promised in out, f"{promised} not shown:\n{out}"
    assert "Traceback" not in run.stderr, run.stderr


def a_wrong_password_says_why_and_gives_no_token(own_stack) -> None:  # type: ignore[no-untyped-def]
    """The tour's ``login`` helper on a wrong password: why, on stderr, and no token."""
    helper = tour_script().split("\n")
    start = next(i for i, line in enumerate(helper) if line.startswith("login()"))
    definition = "\n".join(helper[start:start + 2])
    run = subprocess.run(["bash", "-c", f"B={own_stack.gateway_url}\n{definition}\n"
                          "T=$(login jiangsu wrong-password) || echo \"status $?\"; echo \"[$T]\""],
                         capture_output=True, text=True, timeout=60)
    assert "Traceback" not in run.stderr
    assert "login refused" in run.stderr and "status 1" in run.stdout and "[]" in run.stdout
