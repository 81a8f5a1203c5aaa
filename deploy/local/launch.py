"""`make run`: the whole platform on this machine, kept running, stopped cleanly with Ctrl-C.

SQLite files, keys, NATS users and JetStream under var/ (``GL_VAR_DIR``); the same code runs on
PostgreSQL and an external NATS when DATABASE_URL and NATS_URL are set (that NATS's users are its
operator's). A child that dies is restarted after a growing pause (``supervise``); one that keeps
dying is reported and left stopped while the rest go on (decision 0004).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from deploy.local.stack import Stack
from deploy.local.supervise import GiveUp, RestartPolicy, decide, describe_exit
from services.kernel.config import ROOT

FIRST_START_MARK = "started-once"   # under the var dir, once a start has completed


def _stop(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the stack the same way Ctrl-C does


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def _write_pid(var_dir: Path, name: str, pid: int) -> None:
    run = var_dir / "run"
    run.mkdir(exist_ok=True)
    (run / f"{name}.pid").write_text(f"{pid}\n")


def banner(stack: Stack, var_dir: Path) -> str:
    password_file = var_dir / "operator-password"
    operator = (password_file.read_text().strip() if password_file.exists()
                else "(set at first start; lost with var/operator-password)")
    nats_users = ("(a user per process; passwords in var/keys/nats/, admin for tools)"
                  if stack.own_nats else "(external: users as in the operator guide, NATS)")
    grpc = ", ".join(f"{s} {stack.addr(s)}" for s in stack.services)
    scrape = ", ".join(f"{s} {stack.metrics_url(s)}" for s in ("gateway", *stack.services))
    return f"""
GreenLadder is running.
  API and OpenAPI docs : {stack.gateway_url}/docs
  gRPC (chosen now)    : {grpc}
  metrics (Prometheus) : {scrape}
  NATS                 : {stack.nats_url} {nats_users}
  storage              : {"PostgreSQL" if stack.database_url else "SQLite under var/data/"}
  logs                 : var/log/ (process ids in var/run/)

Accounts (username / password):
  operator    / {operator}
  ministry    / demo-ministry-1      (MIIT, national)
  jiangsu     / demo-province-1      (江苏省 320000)
  zhejiang    / demo-province-2      (浙江省 330000)
  nanjing     / demo-city-1          (南京市 320100)
  suzhou      / demo-city-2          (苏州市 320500)
  factory     / demo-enterprise-1    (enterprise 91320100MA1N2P3Q43 in 320000)
  institution / demo-institution-1   (third-party institution 91110108MA01XYA126, national)
  expert      / demo-expert-1
  partner     / demo-partner-1

A process that dies is restarted. Press Ctrl-C to stop."""


def supervise(stack: Stack, var_dir: Path, policy: RestartPolicy) -> None:
    """Watch the children until Ctrl-C: restart the dead after their pause, give up on one that
    keeps dying (the others keep serving)."""
    crashes: dict[str, list[float]] = {}
    due: dict[str, float] = {}          # name → when to start it again
    while True:
        now = time.monotonic()
        for name, proc in list(stack.procs.items()):
            code = proc.poll()
            if code is None:
                continue
            del stack.procs[name]
            decision = decide(policy, crashes.get(name, []), now)
            crashes.setdefault(name, []).append(now)
            if isinstance(decision, GiveUp):
                say(f"{name} exited ({describe_exit(code)}) for the {decision.crashes}th time in "
                    f"{decision.window:.0f} s: not restarting it. The platform runs without "
                    f"{name}; see var/log/{name}.out, fix the cause and start again.")
                continue
            say(f"{name} exited ({describe_exit(code)}); restarting in {decision.delay:.0f} s "
                f"(restart {decision.attempt}); see var/log/{name}.out")
            due[name] = now + decision.delay
        for name, at in list(due.items()):
            if at <= now:
                del due[name]
                if name == "nats":
                    stack.restart_nats()
                else:
                    stack.start_process(name)
                _write_pid(var_dir, name, stack.procs[name].pid)
                say(f"{name} restarted (pid {stack.procs[name].pid})")
        time.sleep(0.5)


def main() -> None:
    var_dir = Path(os.environ.get("GL_VAR_DIR") or ROOT / "var")
    stack = Stack(
        var_dir=var_dir,
        database_url=os.environ.get("DATABASE_URL", ""),
        nats_url=os.environ.get("NATS_URL", ""),
        http_port=int(os.environ.get("GL_HTTP_PORT", "8800")),
        tenants=os.environ.get("GL_TENANTS", ""),
        seed_demo=True,
    )
    if (var_dir / FIRST_START_MARK).exists():
        say("Starting GreenLadder again (tenants onboarded already)…")
    else:
        say("Starting GreenLadder for the first time: onboarding every tenant "
            "(38 by default) takes a minute or two…")
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start()
        (var_dir / FIRST_START_MARK).write_text(time.strftime("%Y-%m-%dT%H:%M:%S%z\n"))
        for name, proc in stack.procs.items():
            _write_pid(var_dir, name, proc.pid)
        print(banner(stack, var_dir), flush=True)
        supervise(stack, var_dir, RestartPolicy())
    except KeyboardInterrupt:
        pass
    finally:
        say("Stopping…")
        stack.stop()
        say("Stopped.")


if __name__ == "__main__":
    main()
