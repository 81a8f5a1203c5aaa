"""`make run`: the whole platform on this machine, stopped cleanly with Ctrl-C.

SQLite files, keys, NATS users and JetStream under var/; the same code runs on PostgreSQL and an
external NATS when DATABASE_URL and NATS_URL are set (that NATS's users are its operator's).
"""

from __future__ import annotations

import os
import signal
import time

from deploy.local.stack import Stack
from services.kernel.config import ROOT


def _stop(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the stack the same way Ctrl-C does


def main() -> None:
    stack = Stack(
        var_dir=ROOT / "var",
        database_url=os.environ.get("DATABASE_URL", ""),
        nats_url=os.environ.get("NATS_URL", ""),
        http_port=int(os.environ.get("GL_HTTP_PORT", "8800")),
        seed_demo=True,
    )
    print("Starting GreenLadder (first start onboards all 38 tenants)…", flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start()
        url = stack.gateway_url
        password_file = ROOT / "var" / "operator-password"
        operator = (password_file.read_text().strip() if password_file.exists()
                    else "(set at first start; lost with var/operator-password)")
        nats_users = ("(a user per process; passwords in var/keys/nats/, admin for tools)"
                      if stack.own_nats else "(external: users as in the operator guide, NATS)")
        print(f"""
GreenLadder is running.
  API and OpenAPI docs : {url}/docs
  NATS                 : {stack.nats_url} {nats_users}
  storage              : {"PostgreSQL" if stack.database_url else "SQLite under var/data/"}
  logs                 : var/log/

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

Press Ctrl-C to stop.""", flush=True)
        while True:
            for name, proc in list(stack.procs.items()):
                if proc.poll() is not None:
                    print(f"{name} exited ({proc.returncode}); see var/log/{name}.out — stopping.")
                    raise KeyboardInterrupt
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping…", flush=True)
        stack.stop()
        print("Stopped.")


if __name__ == "__main__":
    main()
