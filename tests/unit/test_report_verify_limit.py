"""The public report check is bounded (review H2): one figure for the largest report anyone may
upload to verify (kernel ``data/limits.yaml``), read by the evaluation's rule and by the gateway's
verify route, whose body limit is that figure plus the multipart framing — far below the general
limit — so an anonymous caller cannot make the platform read, parse and hash large bodies; and
verifications and PDF renderings wait on a small pool of their own in the evaluation service."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from gateway.limits import MULTIPART_FRAMING
from gateway.routes.public import BODY_LIMITS, VERIFY
from generated.evaluation.v1 import evaluation_pb2 as pb
from services.evaluation import domain, handlers
from services.evaluation.api import REPORT_WORKERS, EvaluationApi
from services.evaluation.report import Verification
from services.kernel.errors import Kind, render
from services.kernel.identity import ANONYMOUS, reset_identity, set_identity
from services.kernel.limits import limits, parse_limits
from services.kernel.tenancy import tenant_scope
from tests.unit.gateway_fakes import Gateway, build

MiB = 2**20


def test_the_verify_figure_is_one_figure_both_sides_read() -> None:
    assert limits().report_verify_max_bytes == MiB
    (route,) = BODY_LIMITS
    assert (route.method, route.path, route.figure, route.framing, route.code) == (
        "POST", VERIFY, limits().report_verify_max_bytes, MULTIPART_FRAMING,
        "request.report_too_large")
    assert domain.verify_size_refusal(MiB) is None
    refusal = domain.verify_size_refusal(MiB + 1)
    assert refusal is not None and refusal.code == "report.too_large"
    assert refusal.kind is Kind.TOO_LARGE and refusal.params == {"size": MiB + 1, "max": MiB}
    assert "1048577" in render("report.too_large", "en", **refusal.params)


@pytest.mark.parametrize("data, problem", [
    ({"evidence_max_bytes": MiB}, "report_verify_max_bytes must be a positive"),
    ({"evidence_max_bytes": MiB, "report_verify_max_bytes": 0}, "positive"),
    ({"evidence_max_bytes": MiB, "report_verify_max_bytes": 16 * MiB}, "gRPC message"),
])
def test_a_verify_limit_that_cannot_hold_stops_the_start(data: dict[str, Any],
                                                         problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_limits(data)


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    return build(tmp_path_factory.mktemp("gateway"))


def _verify(gw: Gateway, size: int, lang: str = "en") -> Any:
    return gw.http.post(VERIFY, headers={"Accept-Language": lang},
                        files={"file": ("report.pdf", b"%PDF-" + b"0" * (size - 5),
                                        "application/pdf")})


def test_a_report_at_the_figure_reaches_the_service(gw: Gateway) -> None:
    gw.answer(full=True)
    before = len(gw.sent)
    r = _verify(gw, MiB)
    assert r.status_code == 200, r.text[:300]
    (sent,) = gw.sent[before:]
    assert len(sent.request.content) == MiB  # type: ignore[attr-defined]


def test_a_body_over_the_verify_figure_is_refused_before_the_service(gw: Gateway) -> None:
    """2 MiB is well under the general limit (5 MiB): only the route's own limit refuses it."""
    assert gw.app.state.settings.max_body_bytes > 2 * MiB
    before = len(gw.sent)
    r = _verify(gw, 2 * MiB)
    assert r.status_code == 413
    assert r.json()["error"] == {
        "code": "request.report_too_large", "params": {"max": MiB},
        "message": "The report file to verify is too large; the limit is 1 MiB (1048576 bytes)"}
    assert _verify(gw, MiB + MULTIPART_FRAMING + 1, "zh").json()["error"]["message"] == (
        "待核验的报告文件过大，上限为 1 MiB（1048576 字节）")
    assert gw.sent[before:] == []


def test_the_verify_limit_is_documented(gw: Gateway) -> None:
    route = gw.http.get("/openapi.json").json()["paths"][VERIFY]["post"]
    assert "1048576 bytes (1 MiB)" in route["description"] and "413" in route["responses"]
    assert "only these facts are certified" in route["description"]


# --- the reports' own pool in the evaluation service ---------------------------------------------


def test_verification_and_pdfs_wait_on_the_reports_own_small_pool(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Anyone may verify: at most ``REPORT_WORKERS`` verifications or PDF renderings run at once,
    on threads of their own; the others wait their turn there, while a JSON report (and every
    other call) still runs on the default pool."""
    started: list[str] = []
    lock = threading.Lock()
    both, release = threading.Event(), threading.Event()

    def verify_report(rt: Any, *, ident: Any, tenant: str, content: bytes) -> Verification:
        with lock:
            started.append(threading.current_thread().name)
            if len(started) == REPORT_WORKERS:
                both.set()
        release.wait(30)
        return Verification(False, "report.not_a_report")

    def report_of(rt: Any, *, ident: Any, tenant: str, evaluation_id: str,
                  fmt: str) -> tuple[bytes, str, str, dict[str, Any]]:
        return threading.current_thread().name.encode(), "x", "h", {}

    monkeypatch.setattr(handlers, "verify_report", verify_report)
    monkeypatch.setattr(handlers, "report_of", report_of)
    api = EvaluationApi(None, None, None)  # type: ignore[arg-type]

    async def run() -> None:
        calls = [asyncio.create_task(api.VerifyReport(pb.VerifyReportRequest(content=b"x"), None))
                 for _ in range(REPORT_WORKERS + 3)]
        assert await asyncio.to_thread(both.wait, 30)
        # the pool is busy: the JSON report does not wait for it, the PDF does
        json_report = await api.GetReport(pb.GetReportRequest(evaluation_id="e"), None)
        assert not json_report.content.startswith(b"evaluation-reports")
        pdf = asyncio.create_task(api.GetReport(
            pb.GetReportRequest(evaluation_id="e", format="pdf"), None))
        await asyncio.sleep(0)
        assert len(started) == REPORT_WORKERS and not pdf.done()
        release.set()
        answers = await asyncio.gather(*calls)
        assert {a.reason for a in answers} == {"report.not_a_report"}
        assert (await pdf).content.startswith(b"evaluation-reports")

    token = set_identity(ANONYMOUS)
    try:
        with tenant_scope("000000"):
            asyncio.run(run())
    finally:
        reset_identity(token)
        api.reports.shutdown()
    assert len(started) == REPORT_WORKERS + 3
    assert {name.rsplit("_", 1)[0] for name in started} == {"evaluation-reports"}
