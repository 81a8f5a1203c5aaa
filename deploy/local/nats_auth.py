"""NATS users for a nats-server the platform starts itself (`make run`, the test stacks).

Each process connects as its own user and may publish only its own subjects
(``<prefix>.*.<service>.>``), use only the JetStream API it needs for its own stream and for the
streams it consumes (its durable consumers by name, their acks and its dead letters), and
subscribe only to its own reply inboxes (``_INBOX.<name>.>``, see ``kernel.bus.streams.connect``).
Nobody connects anonymously. ``admin`` may do anything: the operator's tools and the tests.

Passwords are random, made once and kept under ``<keys>/nats/<user>`` (0600) like signing keys;
the server's config is rewritten at every start from the services' declared subscriptions, so
the permissions always match the code. An external NATS (``NATS_URL``) has users of its own:
the operator gives each process ``GL_NATS_USER`` / ``GL_NATS_PASSWORD_FILE``, or the launcher
``GL_NATS_PASSWORDS_DIR`` (a password file per user, named for it); ``permissions`` says what each
user needs (operator guide, NATS).
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from services.kernel.bus import contract, streams

ADMIN = "admin"
GATEWAY = "gateway"


@dataclass(frozen=True)
class Consumes:
    """One durable consumer of a process: the publisher whose stream it reads, and its name."""

    service: str
    name: str


def declared_consumers(process: str) -> tuple[Consumes, ...]:
    """What a process hears, from the ``SUBSCRIPTIONS`` its code declares (none: it hears nothing)."""
    module = "gateway.views" if process == GATEWAY else f"services.{process}.events"
    try:
        subscriptions = getattr(importlib.import_module(module), "SUBSCRIPTIONS", [])
    except ModuleNotFoundError:  # a publisher that has no process yet (listing): it hears nothing
        subscriptions = []
    return tuple(Consumes(sub.service, sub.name) for sub in subscriptions)


def processes() -> tuple[str, ...]:
    """Every NATS user but admin: each publisher in the event contract (listing included, before
    its service exists, so that tests can publish as it) and the gateway."""
    return tuple(dict.fromkeys((*contract.CATALOGUES, GATEWAY)))  # the gateway publishes too


def permissions(prefix: str, process: str, consumes: tuple[Consumes, ...]) -> dict:
    """The server-side permissions of one process, as nats-server config (a JSON object)."""
    api = "$JS.API"
    publish: list[str] = []
    kv_keys: list[str] = []
    if process in contract.CATALOGUES:  # a publisher: its subjects and its stream
        own = streams.stream_name(prefix, process)
        publish += [f"{prefix}.*.{process}.>", f"{api}.STREAM.CREATE.{own}",
                    f"{api}.STREAM.UPDATE.{own}", f"{api}.STREAM.INFO.{own}"]
        kv_keys.append(own)
    if process in contract.CATALOGUES:
        # Every service and every gateway follows the gateway's ended sessions
        # (kernel.revocations, decision 0009) with an ephemeral ordered consumer delivered to
        # its own inbox: read-only (only the gateway creates the stream), it can neither pull
        # from another's consumer nor delete one.
        gateway = streams.stream_name(prefix, GATEWAY)
        publish += [f"{api}.STREAM.INFO.{gateway}",
                    f"{api}.CONSUMER.CREATE.{gateway}", f"{api}.CONSUMER.INFO.{gateway}.*",
                    f"$JS.FC.{gateway}.>"]
    # Every process runs a consumer, which makes sure the dead-letter stream exists.
    publish.append(f"{api}.STREAM.CREATE.{streams.stream_name(prefix, 'deadletter')}")
    for c in consumes:
        stream = streams.stream_name(prefix, c.service)
        durable = f"{prefix}-{c.name}"
        publish += [
            # The publisher's stream may not exist yet: create it (same config), never change it.
            f"{api}.STREAM.CREATE.{stream}", f"{api}.STREAM.INFO.{stream}",
            f"{api}.CONSUMER.INFO.{stream}.{durable}",
            f"{api}.CONSUMER.CREATE.{stream}.{durable}",
            f"{api}.CONSUMER.CREATE.{stream}.{durable}.>",
            f"{api}.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
            f"{api}.CONSUMER.MSG.NEXT.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>",
            f"{prefix}-dlq.{c.name}.*",
        ]
        kv_keys.append(stream)
    # Where format 2 began, per stream, in a KV bucket (decision 0007): each process reads the
    # records of its streams; only a publisher writes, and only its own (signed) record.
    bucket = streams.formats_bucket(prefix)
    publish += [f"{api}.STREAM.INFO.KV_{bucket}", f"{api}.STREAM.MSG.GET.KV_{bucket}"]
    for key in dict.fromkeys(kv_keys):
        publish.append(f"{api}.DIRECT.GET.KV_{bucket}.$KV.{bucket}.{key}")
    if process in contract.CATALOGUES:
        own = streams.stream_name(prefix, process)
        publish += [f"{api}.STREAM.CREATE.KV_{bucket}", f"$KV.{bucket}.{own}"]
    return {"publish": {"allow": list(dict.fromkeys(publish))},
            "subscribe": {"allow": [f"_INBOX.{process}.>"]}}


def ensure_passwords(folder: Path, users: tuple[str, ...]) -> dict[str, Path]:
    """A random password per user, made once (0600); user → its password file."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    files = {}
    for user in users:
        path = folder / user
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
        files[user] = path
    return files


def authorization(prefix: str, password_files: dict[str, Path]) -> str:
    """The ``authorization`` block of nats.conf: every user with its password and permissions."""
    entries = []
    for user, path in password_files.items():
        entry: dict = {"user": user, "password": path.read_text().strip()}
        if user != ADMIN:
            entry["permissions"] = permissions(prefix, user, declared_consumers(user))
        entries.append("    " + json.dumps(entry))  # JSON is valid nats-server config
    return "authorization {\n  users = [\n" + "\n".join(entries) + "\n  ]\n}\n"


def main() -> None:
    """``python -m deploy.local.nats_auth [prefix]``: every user's permissions as nats-server
    config, for the operator of an external NATS (passwords left to them)."""
    import sys

    prefix = sys.argv[1] if len(sys.argv) > 1 else "gl"
    for user in processes():
        print(f"# {user}\n" + json.dumps(
            {"user": user, "password": f"<{user}'s password>",
             "permissions": permissions(prefix, user, declared_consumers(user))}, indent=2))


if __name__ == "__main__":
    main()
