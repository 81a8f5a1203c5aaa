"""The kernel's seams every service shares: typed events, refusals as values, idempotent create,
and the generated package's import rewriting."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from generated.events.v1 import events_pb2 as ev
from services.kernel import protogen
from services.kernel.bus import Catalogue, Subscription, unpack
from services.kernel.config import Settings
from services.kernel.db import Database
from services.kernel.errors import DomainError, Kind, Refusal, found, refuse
from services.kernel.runtime import create_once

ROOT = Path(__file__).resolve().parents[2]


# --- typed events -------------------------------------------------------------------------------


def test_a_catalogue_names_each_event_by_its_class() -> None:
    cat = Catalogue("registry", {ev.UnitRegistered: "unit.registered",
                                 ev.UnitRenamed: "unit.renamed"})
    assert cat.type_of(ev.UnitRenamed(unit_id="u")) == "unit.renamed"
    assert cat.classes_for("unit.registered") == (ev.UnitRegistered,)
    assert cat.classes_for("unit.merged") == ()
    with pytest.raises(TypeError, match="registry does not publish UnitsMerged"):
        cat.type_of(ev.UnitsMerged())


@pytest.mark.parametrize("types, problem", [
    ({ev.UnitRegistered: "unit.registered", ev.UnitRenamed: "unit.registered"}, "twice"),
    ({ev.UnitRegistered: "UnitRegistered"}, "entity.verb"),
    ({ev.UnitRegistered: "gl.320000.registry.unit.registered"}, "entity.verb"),
])
def test_a_catalogue_refuses_ambiguous_or_malformed_names(types, problem) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=problem):
        Catalogue("registry", types)


def test_the_contract_names_every_event_message_once() -> None:
    from services.kernel.bus.contract import CATALOGUES
    from services.registry.events import PUBLISHES

    assert PUBLISHES is CATALOGUES["registry"]
    classes = [c for cat in CATALOGUES.values() for c in cat.types]
    assert len(classes) == len(set(classes)), "a message class is published by one service"
    names = {m.name for m in ev.DESCRIPTOR.message_types_by_name.values()}
    former = {c.DESCRIPTOR.name for cat in CATALOGUES.values() for c in cat.formerly}
    assert former == {"ParkMembershipChanged"}
    assert names - {"Actor", "Envelope", "SignedEvent"} - former == {c.DESCRIPTOR.name for c in classes}


def test_a_type_keeps_the_messages_it_carried_before() -> None:
    from services.kernel.bus.contract import REGISTRY

    assert REGISTRY.classes_for("park.member_left") == (ev.ParkMemberLeft,
                                                        ev.ParkMembershipChanged)
    assert REGISTRY.classes_for("unit.registered") == (ev.UnitRegistered,)
    assert REGISTRY.classes_for("unit.vanished") == ()
    with pytest.raises(TypeError):
        REGISTRY.type_of(ev.ParkMembershipChanged())  # never recorded again


def _envelope(body, type_: str = "", service: str = "listing") -> ev.Envelope:  # type: ignore[no-untyped-def]
    from services.kernel.bus.contract import CATALOGUES

    env = ev.Envelope(event_id="e-1", tenant="320000", service=service,
                      type=type_ or CATALOGUES[service].type_of(body))
    env.body.Pack(body)
    return env


def test_a_subscription_dispatches_by_message_class() -> None:
    seen: list[object] = []
    sub = Subscription(name="t", service="listing", event_type="entry.*",
                       handlers={ev.EntryAdded: lambda rt, s, e: seen.append(e.body)})
    found_ = sub.dispatch(_envelope(ev.EntryAdded(unit_id="u1", level="provincial")))
    assert found_ is not None
    event, handler = found_
    assert isinstance(event.body, ev.EntryAdded) and event.body.unit_id == "u1"
    assert event.tenant == "320000" and event.event_id == "e-1"
    handler(None, None, event)  # type: ignore[arg-type]
    assert seen == [event.body]
    # An event of a type the subscription does not handle is not applied (and acknowledged).
    assert sub.dispatch(_envelope(ev.EntryRemoved(unit_id="u1"))) is None


@pytest.mark.parametrize("envelope, code", [
    # a body that is not what its type says: never handled as the body's own type
    (lambda: _envelope(ev.EntryRemoved(unit_id="u1"), "entry.added"), "event.body_mismatch"),
    (lambda: _envelope(ev.EntryAdded(unit_id="u1"), "entry.removed"), "event.body_mismatch"),
    (lambda: ev.Envelope(event_id="e", tenant="320000", service="listing", type="entry.added"),
     "event.body_mismatch"),  # no body at all
    (lambda: _envelope(ev.EntryAdded(), "entry.renamed"), "event.unknown_type"),
    (lambda: _envelope(ev.EntryAdded(), "entry.added", service="registry"), "event.unknown_type"),
])
def test_an_envelope_at_odds_with_the_contract_is_refused(envelope, code) -> None:  # type: ignore[no-untyped-def]
    """Refused, not skipped: the consumer retries and then dead-letters it, with its reason."""
    sub = Subscription(name="t", service="listing", event_type="entry.*",
                       handlers={ev.EntryAdded: lambda rt, s, e: None,
                                 ev.EntryRemoved: lambda rt, s, e: None})
    with pytest.raises(DomainError) as err:
        sub.dispatch(envelope())
    assert err.value.code == code


def test_a_subscription_handles_only_what_its_stream_carries() -> None:
    with pytest.raises(ValueError, match="publishes no"):
        Subscription(name="t", service="listing", event_type=">",
                     handlers={ev.UnitRegistered: lambda rt, s, e: None})
    # An event stored under a type's former message is still recognised.
    sub = Subscription(name="t", service="registry", event_type="park.*",
                       handlers={ev.ParkMembershipChanged: lambda rt, s, e: None})
    old = _envelope(ev.ParkMembershipChanged(park_id="p", joined=True), "park.member_joined",
                    service="registry")
    found_ = sub.dispatch(old)
    assert found_ is not None and found_[0].body.joined


def test_unpacking_to_the_wrong_class_is_an_error() -> None:
    with pytest.raises(TypeError, match="does not carry"):
        unpack(_envelope(ev.EntryAdded()), ev.EntryRemoved)


# --- refusals as values -------------------------------------------------------------------------


def test_a_refusal_is_a_value_until_raised() -> None:
    refuse(None)
    r = Refusal("engagement.cap_reached", Kind.PRECONDITION, {"cap": 15})
    with pytest.raises(DomainError) as err:
        refuse(r)
    assert (err.value.code, err.value.kind, err.value.params) == (
        "engagement.cap_reached", Kind.PRECONDITION, {"cap": 15})


def test_found_returns_the_record_or_refuses_with_not_found() -> None:
    assert found(0, "unit.not_found") == 0  # a falsy record is still a record
    with pytest.raises(DomainError) as err:
        found(None, "unit.not_found", unit_id="u9")
    assert err.value.kind is Kind.NOT_FOUND and err.value.params == {"unit_id": "u9"}


# --- idempotent create --------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(service="registry", settings=Settings(var_dir=tmp_path, tenants="320000"),
                        migrations=ROOT / "services" / "registry" / "migrations")
    database.onboard(["320000"])
    with database.session("320000", write=True) as s:
        s.connection().execute(text("CREATE TABLE thing (k TEXT PRIMARY KEY, v TEXT)"))
    yield database
    database.dispose()


def _find(key: str):  # type: ignore[no-untyped-def]
    def find(s):  # type: ignore[no-untyped-def]
        return s.connection().execute(text("SELECT v FROM thing WHERE k = :k"), {"k": key}).scalar()
    return find


def _create(key: str, value: str):  # type: ignore[no-untyped-def]
    def create(s):  # type: ignore[no-untyped-def]
        s.connection().execute(text("INSERT INTO thing VALUES (:k, :v)"), {"k": key, "v": value})
        return value
    return create


def test_create_once_creates_then_finds(db: Database) -> None:
    assert create_once(db, "320000", find=_find("a"), create=_create("a", "first")) == ("first", True)
    assert create_once(db, "320000", find=_find("a"), create=_create("a", "second")) == ("first", False)


def test_create_once_returns_the_winner_of_a_concurrent_create(db: Database) -> None:
    """A twin committed between our find and our insert (as can happen on PostgreSQL, where the
    find takes no lock): our insert fails on the unique key, and the winner is returned."""
    create_once(db, "320000", find=_find("b"), create=_create("b", "winner"))
    calls = []

    def stale_then_fresh(s):  # type: ignore[no-untyped-def]
        calls.append(1)
        return None if len(calls) == 1 else _find("b")(s)

    assert create_once(db, "320000", find=stale_then_fresh, create=_create("b", "loser")) == (
        "winner", False)
    assert len(calls) == 2


def test_create_once_lets_a_conflict_it_cannot_explain_through(db: Database) -> None:
    def twice(s):  # type: ignore[no-untyped-def]
        _create("c", "x")(s)
        return _create("c", "y")(s)

    with pytest.raises(IntegrityError):
        create_once(db, "320000", find=_find("zz"), create=twice)


# --- the generated package ----------------------------------------------------------------------


def test_generated_imports_are_rewritten_but_message_names_kept() -> None:
    src = ("from greenladder.common.v1 import common_pb2 as x\n"
           "_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, 'greenladder.registry.v1.registry_pb2', g)\n"
           "'/greenladder.registry.v1.Registry/GetUnit'\n"
           "import greenladder.events.v1.events_pb2\n")
    out = protogen._rewrite(src)
    assert "from generated.common.v1 import common_pb2" in out
    assert "'generated.registry.v1.registry_pb2'" in out
    assert "'/greenladder.registry.v1.Registry/GetUnit'" in out  # the wire name is the contract
    assert "import generated.events.v1.events_pb2" in out


def test_stored_events_keep_their_type_urls() -> None:
    env = _envelope(ev.EntryAdded())
    assert env.body.type_url == "type.googleapis.com/greenladder.events.v1.EntryAdded"


def test_decided_returns_the_decision_or_raises_its_refusal() -> None:
    from services.kernel.errors import decided

    assert decided("new state") == "new state"
    with pytest.raises(DomainError) as err:
        decided(Refusal("unit.merge_self", Kind.INVALID))
    assert err.value.code == "unit.merge_self"
