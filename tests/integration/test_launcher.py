"""`make run`'s launcher keeps the platform up: a child killed with SIGKILL is restarted and the
platform answers again; Ctrl-C stops everything without reporting a crash (decision 0004)."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from deploy.local.stack import free_port
from services.kernel.config import ROOT

pytestmark = pytest.mark.stack


class Launcher:
    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.port = free_port()
        # always the embedded default: the launcher is what `make run` starts
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
        env.update(GL_VAR_DIR=str(var_dir), GL_TENANTS="000000,320000",
                   GL_HTTP_PORT=str(self.port), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "deploy.local.launch"], cwd=ROOT,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not printed; so far:\n{''.join(self.seen)}")

    def pid(self, name: str) -> int:
        return int((self.var_dir / "run" / f"{name}.pid").read_text())

    def units_as_province(self) -> int:
        url = f"http://127.0.0.1:{self.port}"
        login = httpx.post(f"{url}/api/v1/auth/login",
                           json={"username": "jiangsu", "password": "demo-province-1"}, timeout=10)
        assert login.status_code == 200, login.text
        return httpx.get(f"{url}/api/v1/tenants/320000/units", timeout=10, headers={
            "Authorization": f"Bearer {login.json()['access_token']}"}).status_code

    def stop(self) -> None:
        """As an operator would: SIGTERM, which the launcher takes as Ctrl-C (its children are
        in sessions of their own, so killing its group would leave them running)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def test_a_killed_service_is_restarted_and_ctrl_c_is_no_crash(tmp_path: Path) -> None:
    launcher = Launcher(tmp_path / "var")
    try:
        launcher.wait_for("first time")
        launcher.wait_for("GreenLadder is running")
        printed = launcher.wait_for("metrics (Prometheus)")
        scrape = dict(re.findall(r"(\w+) (http://\S+/metrics)", printed))
        # the gateway and each service, each on a metrics port the launcher chose
        assert set(scrape) == {"gateway", "registry", "evaluation", "institutions"}, printed
        for name, url in scrape.items():
            text = httpx.get(url, timeout=10).text
            assert f'greenladder_process_info{{service="{name}"}} 1.0' in text, url
        assert httpx.URL(scrape["gateway"]).port != launcher.port  # not the public API port
        api = f"http://127.0.0.1:{launcher.port}/metrics"
        assert httpx.get(api, timeout=10).status_code == 404
        assert launcher.units_as_province() == 200
        old = launcher.pid("registry")

        os.kill(old, signal.SIGKILL)
        said = launcher.wait_for("registry exited")
        assert "killed by SIGKILL" in said and "restarting in" in said
        launcher.wait_for("registry restarted", timeout=30)
        assert launcher.pid("registry") != old
        deadline = time.monotonic() + 60
        while launcher.units_as_province() != 200:  # the new registry becomes ready
            assert time.monotonic() < deadline, "the platform did not answer again"
            time.sleep(0.5)

        launcher.proc.send_signal(signal.SIGINT)  # Ctrl-C reaches the launcher alone
        assert launcher.proc.wait(timeout=60) == 0
        launcher.wait_for("Stopped.")
        after_stop = "".join(launcher.seen).split("Stopping…", 1)[1]
        assert "exited" not in after_stop
        for name in ("nats", "registry", "evaluation", "institutions", "gateway"):
            pid = launcher.pid(name)
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)  # every child is gone

        again = Launcher(tmp_path / "var")  # a second start is told apart from the first
        try:
            again.wait_for("Starting GreenLadder again")
        finally:
            again.stop()
    finally:
        launcher.stop()
