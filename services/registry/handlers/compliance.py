"""Compliance records and the veto check (SPEC §5): facts recorded once, states ended, credit
data imported row by row, and the check over a unit, what merged into it and a park's members."""

from __future__ import annotations

from sqlmodel import Session

from generated.events.v1 import events_pb2 as ev
from services.kernel import bulk, clock
from services.kernel.errors import bounded, decided, found, refuse
from services.kernel.identity import Identity, authorize, visible_scope
from services.kernel.runtime import Runtime
from services.registry import domain, store
from services.registry.domain import OFFICIAL, READ
from services.registry.handlers.common import reason_text, record_of, unit_for
from services.registry.store import ComplianceRecord, Unit


def add_compliance_record(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, uscc: str,
                          kind: str, occurred_on: str, ended_on: str, description: str,
                          source: str, reference: str) -> list[tuple[ComplianceRecord, bool]]:
    """Record a compliance fact on a unit — or, by USCC, on every site of that enterprise.
    Returns each record and whether it was there already."""
    fact = domain.Fact(kind=kind, occurred_on=clock.parse_day(occurred_on, "occurred_on"),
                       ended_on=clock.optional_day(ended_on, "ended_on"),
                       description=bounded(description, "description", 2000),
                       source=bounded(source or "official", "source", 40),
                       reference=bounded(reference, "reference", 200))
    refuse(domain.in_the_future(clock.today(), occurred_on=fact.occurred_on,
                                ended_on=fact.ended_on))
    with rt.db.session(tenant, write=True) as s:
        if unit_id:
            units = [unit_for(s, ident, tenant, unit_id, OFFICIAL, write=True)]
        else:
            code = domain.uscc_reference(uscc)
            units = list(store.units_by_uscc(session=s, uscc=code))
            if not units:
                authorize(ident, tenant, OFFICIAL, write=True)  # strangers learn nothing
            found(units or None, "compliance.unit_unknown", uscc=code)
            for unit in units:
                authorize(ident, tenant, OFFICIAL, location=unit.location, write=True)
        return [record_fact(rt, s, ident, unit, fact) for unit in units]


def record_fact(rt: Runtime, s: Session, ident: Identity, unit: Unit,
                fact: domain.Fact) -> tuple[ComplianceRecord, bool]:
    """The fact as a record on ``unit``, once: the same fact again (a retry, a re-import) is
    the record already there — ended, if it now says when it ended. Also used for listing's
    entry.removed (events.py)."""
    rule = domain.check_record(fact.kind, fact.occurred_on, fact.ended_on)
    existing = store.find_compliance(session=s, unit_id=unit.id, fingerprint=fact.fingerprint)
    if existing is not None:
        ended = domain.restated(record_of(existing), fact)
        if ended is not None:
            _end(rt, s, existing, ended, "")
        return existing, True
    record = ComplianceRecord(
        id=store.new_id(), unit_id=unit.id, kind=fact.kind, condition=rule.condition,
        occurred_on=fact.occurred_on, ended_on=fact.ended_on, description=fact.description,
        source=fact.source, reference=fact.reference, recorded_by=ident.subject,
        recorded_at=clock.now(), fingerprint=fact.fingerprint)
    s.add(record)
    rt.record(s, ev.ComplianceRecorded(
        record_id=record.id, unit_id=unit.id, uscc=unit.uscc, kind=fact.kind,
        condition=rule.condition, occurred_on=fact.occurred_on.isoformat(), source=fact.source))
    return record, False


def _end(rt: Runtime, s: Session, row: ComplianceRecord, ended: domain.Record, reason: str) -> None:
    """Store an end the rules decided, and say so."""
    row.ended_on = ended.ended_on
    s.add(row)
    rt.record(s, ev.ComplianceEnded(
        record_id=row.id, unit_id=row.unit_id, kind=row.kind,
        ended_on=ended.ended_on.isoformat() if ended.ended_on else ""), reason)


def end_compliance_record(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str,
                          record_id: str, ended_on: str, reason: str) -> ComplianceRecord:
    """A state that ended: off the abnormal-operations list, rectified, production resumed."""
    day = clock.parse_day(ended_on, "ended_on")
    refuse(domain.in_the_future(clock.today(), ended_on=day))
    reason = reason_text(reason)
    with rt.db.session(tenant, write=True) as s:
        unit_for(s, ident, tenant, unit_id, OFFICIAL, write=True)
        record = found(store.compliance_record(session=s, unit_id=unit_id, record_id=record_id,
                                               for_update=True),
                       "compliance.not_found", record_id=record_id)
        ended = domain.end_record(record_of(record), day)
        if ended is not None:
            _end(rt, s, record, ended, reason)
        return record


def list_compliance(rt: Runtime, *, ident: Identity, tenant: str,
                    unit_id: str) -> list[ComplianceRecord]:
    with rt.db.session(tenant) as s:
        unit_for(s, ident, tenant, unit_id, READ)
        return list(store.compliance_records(session=s, unit_ids=[unit_id]))


COMPLIANCE_COLUMNS = {"uscc", "kind", "occurred_on"}
COMPLIANCE_OPTIONAL = {"ended_on", "description", "source", "reference"}
COMPLIANCE_ALIASES = {"统一社会信用代码": "uscc", "类型": "kind", "记录类型": "kind",
                      "发生日期": "occurred_on", "结束日期": "ended_on", "移出日期": "ended_on",
                      "说明": "description", "事由": "description", "来源": "source",
                      "文号": "reference", "决定文书号": "reference"}


def import_compliance(rt: Runtime, *, ident: Identity, tenant: str, content: bytes, fmt: str,
                      lang: str) -> list[dict]:
    """Credit data extracts (信用中国 / 国家企业信用信息公示系统) as CSV, one result per row."""
    authorize(ident, tenant, OFFICIAL, write=True)
    rows = bulk.parse(content, fmt, required=COMPLIANCE_COLUMNS, optional=COMPLIANCE_OPTIONAL,
                      aliases=COMPLIANCE_ALIASES, max_rows=domain.rules()["import_max_rows"])

    def one(row: dict[str, str]) -> tuple[str, bool]:
        results = add_compliance_record(
            rt, ident=ident, tenant=tenant, unit_id="", uscc=row["uscc"], kind=row["kind"],
            occurred_on=row["occurred_on"], ended_on=row.get("ended_on", ""),
            description=row.get("description", ""), source=row.get("source") or "import",
            reference=row.get("reference", ""))
        return ",".join(r.id for r, _ in results), all(existed for _, existed in results)

    return bulk.each_row(rows, lang, one)


def must_be_vouched(*, ident: Identity, tenant: str) -> bool:
    """Whether the caller reads a veto check only on the institutions service's word (an
    institution with no role that reads the register): then the servicer asks it."""
    return domain.must_be_vouched({g.role for g in ident.in_tenant(tenant)})


def check_veto(rt: Runtime, *, ident: Identity, tenant: str, unit_id: str, on: str,
               engagement: domain.Engagement | None = None,
               ) -> tuple[Unit, domain.VetoOutcome, dict[str, ComplianceRecord]]:
    """SPEC §5 on a day. The records of units merged into this one count, and for a park those
    of its member enterprises (and theirs). An enterprise sees which of other units' records
    vetoes it, but not their descriptions or references; so does an institution, and only for a
    unit the institutions service says it holds an accepted engagement on (``engagement``)."""
    engaged = decided(domain.engaged(engagement))
    day = clock.optional_day(on, "on") or clock.today()
    with rt.db.session(tenant) as s:
        # An engaged institution is let in by the institutions service's word, not by a role.
        unit = unit_for(s, ident, tenant, unit_id, ("institution",) if engaged else READ,
                        confined=not engaged)
        ids = [unit.id]
        if unit.kind == "park":
            ids += [m.id for m in store.park_members(session=s, park_id=unit.id)]
        ids += [a for i in list(ids) for a in store.absorbed_into(session=s, unit_id=i)]
        rows = {r.id: r for r in store.compliance_records(session=s, unit_ids=ids)}
    org = "" if engaged else visible_scope(ident, tenant, READ).org
    if domain.redacts_others(engaged=engaged, org=org):
        rows = {k: (r if r.unit_id == unit.id else _redacted(r)) for k, r in rows.items()}
    outcome = domain.check_veto([record_of(r) for r in rows.values()], day)
    return unit, outcome, rows


def _redacted(record: ComplianceRecord) -> ComplianceRecord:
    return ComplianceRecord(**{**record.model_dump(), **domain.WITHHELD})
