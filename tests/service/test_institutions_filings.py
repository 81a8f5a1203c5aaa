"""Institutions use cases in-process: filings (备案), one per province, kept nationally."""

from __future__ import annotations

from generated.events.v1 import events_pb2 as ev
from services.institutions import handlers
from services.kernel.errors import Kind
from services.kernel.identity import Grant, Identity
from tests.helpers import uscc
from tests.service.conftest import UseCases
from tests.service.institutions_world import (
    JIANGSU,
    JS,
    MINISTRY,
    NANJING,
    N,
    ZHEJIANG,
    ZJ,
    institution,
    refused,
    register,
    verified,
)


def test_a_province_files_a_verified_institution_once(institutions: UseCases) -> None:
    code = verified(institutions, provinces=()).uscc
    institutions.recorded(N)
    filing = institutions(handlers.file, as_=JIANGSU, tenant=JS, uscc=code, reason="备案")
    again = institutions(handlers.file, as_=JIANGSU, tenant=JS, uscc=code, reason="再次")
    assert (filing.status, filing.province) == ("active", JS) and again.reason == "备案"
    (event,) = institutions.recorded(N)                 # the province's act, in the national chain
    assert isinstance(event.body, ev.FilingChanged)
    assert (event.body.province, event.body.status) == (JS, "active")
    assert institutions.recorded(JS) == []
    institutions(handlers.file, as_=ZHEJIANG, tenant=ZJ, uscc=code, reason="")
    view = institutions(handlers.get, as_=MINISTRY, tenant=N, uscc=code)
    assert [f.province for f in view["filings"]] == [JS, ZJ]


def test_only_a_verified_institution_is_filed_and_only_by_a_province(
        institutions: UseCases) -> None:
    code = register(institutions, uscc("110108")).uscc
    err = refused(institutions, handlers.file, as_=JIANGSU, tenant=JS, uscc=code, reason="")
    assert (err.code, err.kind, err.params) == (
        "institution.not_verified", Kind.PRECONDITION, {"uscc": code, "status": "unverified"})
    err = refused(institutions, handlers.file, as_=MINISTRY, tenant=N, uscc=code, reason="")
    assert err.code == "auth.forbidden_role"
    err = refused(institutions, handlers.file, as_=NANJING, tenant=JS, uscc=code, reason="")
    assert err.code == "auth.forbidden_role"
    err = refused(institutions, handlers.file, as_=institution(code), tenant=JS, uscc=code,
                  reason="")
    assert err.code == "auth.forbidden_role"
    err = refused(institutions, handlers.file, as_=JIANGSU, tenant=JS, uscc=uscc("110108"),
                  reason="")
    assert (err.code, err.kind) == ("institution.not_found", Kind.NOT_FOUND)


def test_a_province_revokes_only_its_own_filing_with_a_reason(institutions: UseCases) -> None:
    code = verified(institutions, provinces=(JS, ZJ)).uscc
    institutions.recorded(N)
    err = refused(institutions, handlers.revoke_filing, as_=JIANGSU, tenant=JS, uscc=code,
                  reason=" ")
    assert (err.code, err.params) == ("field.required", {"field": "reason"})
    revoked = institutions(handlers.revoke_filing, as_=JIANGSU, tenant=JS, uscc=code.lower(),
                           reason="不再开展业务")
    again = institutions(handlers.revoke_filing, as_=JIANGSU, tenant=JS, uscc=code,
                         reason="再次")
    assert revoked.status == again.status == "revoked" and again.reason == "不再开展业务"
    (event,) = institutions.recorded(N)
    assert (event.body.province, event.body.status) == (JS, "revoked")
    view = institutions(handlers.get, as_=ZHEJIANG, tenant=ZJ, uscc=code)
    assert {f.province: f.status for f in view["filings"]} == {JS: "revoked", ZJ: "active"}
    err = refused(institutions, handlers.revoke_filing, as_=JIANGSU, tenant=JS,
                  uscc=uscc("110108"), reason="x")
    assert (err.code, err.kind) == ("filing.not_found", Kind.NOT_FOUND)
    # Filing again after a revocation makes it active again.
    again = institutions(handlers.file, as_=JIANGSU, tenant=JS, uscc=code, reason="恢复")
    assert (again.status, again.revoked_at) == ("active", None)


def test_a_province_still_sees_an_institution_whose_filing_it_revoked(
        institutions: UseCases) -> None:
    """Revoking ends new engagements, but a province still sees an institution filed with it."""
    code = verified(institutions, provinces=(JS,)).uscc
    institutions(handlers.revoke_filing, as_=JIANGSU, tenant=JS, uscc=code, reason="x")
    seen = institutions(handlers.list_institutions, as_=JIANGSU, tenant=JS)
    assert code in {v["institution"].uscc for v in seen}
    hidden = Identity("zj2", (Grant("province", ZJ),))
    assert code not in {v["institution"].uscc for v in
                        institutions(handlers.list_institutions, as_=hidden, tenant=ZJ)}
