"""One evidence limit, applied per route (issue 9 §3).

The evaluation's rules allowed a 10 MiB evidence file but the gateway cut every body at 5 MiB,
so a 6 MiB file never reached the service. Now the figure lives once (kernel
``data/limits.yaml``), the evaluation's evidence rules and the gateway's upload route both read
it, and the gateway's body limit is per route: the evidence upload takes a body up to the figure
plus the multipart framing, every other route keeps the general limit. The refusal names the
route's figure in the caller's language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway.limits import MULTIPART_FRAMING, BodyLimits, RouteLimit
from gateway.routes.evaluation import BODY_LIMITS
from services.evaluation import domain
from services.kernel.errors import Kind
from services.kernel.limits import limits, parse_limits
from services.kernel.rpc import ERROR_CODE, ERROR_KIND, MAX_MESSAGE, RemoteError
from tests.unit.gateway_fakes import Gateway, build

MiB = 2**20
EVIDENCE = "/api/v1/tenants/320000/evaluations/e-1/evidence"


def test_the_evidence_figure_is_one_figure_both_sides_read() -> None:
    assert limits().evidence_max_bytes == 10 * MiB
    assert domain.evidence_rules().max_bytes == limits().evidence_max_bytes
    (route,) = BODY_LIMITS
    assert (route.figure, route.framing) == (limits().evidence_max_bytes, MULTIPART_FRAMING)
    # with its request and the framing it still fits one gRPC message
    assert route.figure + route.framing < MAX_MESSAGE


@pytest.mark.parametrize("data, problem", [
    ({}, "positive"), ({"evidence_max_bytes": 0}, "positive"),
    ({"evidence_max_bytes": True}, "positive"), ({"evidence_max_bytes": "10 MiB"}, "positive"),
    ({"evidence_max_bytes": 16 * MiB}, "gRPC message"),
])
def test_a_limit_that_cannot_hold_stops_the_start(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_limits(data)


def test_a_route_has_its_own_limit_or_the_general_one() -> None:
    body = BodyLimits(5 * MiB, [RouteLimit("POST", "/api/v1/tenants/{tenant}/evaluations/"
                                           "{evaluation_id}/evidence", figure=10 * MiB,
                                           framing=1000, code="request.evidence_too_large")])
    own = body.of("POST", EVIDENCE)
    assert (own.allowed, own.figure, own.code) == (10 * MiB + 1000, 10 * MiB,
                                                   "request.evidence_too_large")
    assert own.params == {"max": 10 * MiB, "mib": "10"}
    for path in (EVIDENCE + "/", EVIDENCE + "//"):   # the router redirects these to the route
        assert body.of("post", path) == own, path
    for method, path in (("PUT", EVIDENCE), ("POST", EVIDENCE + "/x"),
                         ("POST", "/api/v1/tenants/320000/units"),
                         ("POST", "/api/v1/tenants/320000/evaluations/e-1/evidence/../x")):
        general = body.of(method, path)
        assert (general.allowed, general.figure, general.code) == (
            5 * MiB, 5 * MiB, "request.too_large"), (method, path)


# --- the middleware, in the real gateway app (services faked below the gRPC channel) -----------


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    return build(tmp_path_factory.mktemp("gateway"))


def _upload(gw: Gateway, size: int, lang: str = "zh", chunked: bool = False) -> Any:
    headers = {**gw.headers("factory"), "Accept-Language": lang}
    content = b"%PDF-" + b"0" * (size - 5)
    if not chunked:
        return gw.http.post(EVIDENCE, headers=headers, data={"indicator_id": "energy_per_output"},
                            files={"file": ("能耗.pdf", content, "application/pdf")})
    boundary = "gl-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"indicator_id\"\r\n\r\n"
            f"energy_per_output\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f"name=\"file\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
            ).encode() + content + f"\r\n--{boundary}--\r\n".encode()

    def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: counted as it arrives
        for i in range(0, len(body), MiB):
            yield body[i:i + MiB]

    return gw.http.post(EVIDENCE, content=chunks(), headers={
        **headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_the_evidence_route_takes_a_file_up_to_the_evidence_figure(gw: Gateway,
                                                                   chunked: bool) -> None:
    gw.answer(full=True)
    for size in (6 * MiB, 10 * MiB):
        before = len(gw.sent)
        r = _upload(gw, size, chunked=chunked)
        assert r.status_code == 201, r.text[:300]
        (sent,) = gw.sent[before:]
        assert len(sent.request.content) == size  # type: ignore[attr-defined]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_file_over_the_evidence_figure_is_refused_naming_it(gw: Gateway, chunked: bool) -> None:
    before = len(gw.sent)
    r = _upload(gw, 10 * MiB + MULTIPART_FRAMING + 1, lang="en", chunked=chunked)
    assert r.status_code == 413
    assert r.json()["error"] == {
        "code": "request.evidence_too_large", "params": {"max": 10 * MiB},
        "message": "The evidence file is too large; the limit is 10 MiB (10485760 bytes) "
                   "per file"}
    assert _upload(gw, 11 * MiB).json()["error"]["message"] == (
        "证明材料文件过大，每个文件上限为 10 MiB（10485760 字节）")
    assert gw.sent[before:] == []  # never reached the service


def test_the_evidence_route_with_a_trailing_slash_has_the_evidence_limit(gw: Gateway) -> None:
    """Review (low): the limit matched the exact path, so ``POST …/evidence/`` (which the router
    redirects to the upload route) was cut at the general limit. It now has the route's limit:
    a 6 MiB file is not refused for its size, it is redirected to the route, unread."""
    headers = gw.headers("factory")
    before = len(gw.sent)
    r = gw.http.post(EVIDENCE + "/", headers=headers, data={"indicator_id": "energy_per_output"},
                     files={"file": ("a.pdf", b"%PDF-" + b"0" * (6 * MiB), "application/pdf")},
                     follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"].endswith(EVIDENCE), r.text[:300]
    assert gw.sent[before:] == []
    r = gw.http.post(EVIDENCE + "/", headers=headers, data={"indicator_id": "energy_per_output"},
                     files={"file": ("a.pdf", b"0" * (11 * MiB), "application/pdf")})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request.evidence_too_large"


def test_every_other_route_keeps_the_general_limit(gw: Gateway) -> None:
    headers = gw.headers("jiangsu")
    big = b"kind,uscc,name,location\n" + b"factory,x,y,320102\n" * (6 * MiB // 19)
    r = gw.http.post("/api/v1/tenants/320000/units/import", headers=headers,
                     files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request.too_large"
    assert r.json()["error"]["params"] == {"max": gw.app.state.settings.max_body_bytes}


def test_the_limits_are_documented(gw: Gateway) -> None:
    spec = gw.http.get("/openapi.json").json()
    upload = spec["paths"]["/api/v1/tenants/{tenant}/evaluations/{evaluation_id}/evidence"]["post"]
    assert "10485760 bytes (10 MiB)" in upload["description"] and "413" in upload["responses"]
    guide = (Path(__file__).resolve().parents[2] / "docs" / "operator-guide.md").read_text("utf-8")
    assert "services/kernel/data/limits.yaml" in guide


def test_a_file_the_service_refuses_as_too_large_reaches_the_caller_as_413() -> None:
    """RESOURCE_EXHAUSTED stands for both too large (413) and rate-limited (429): the refusal's
    kind travels beside its code, so the evaluation's ``evidence.too_large`` is not a 429."""
    def remote(status: grpc.StatusCode, *kind: str) -> RemoteError:
        md = grpc.aio.Metadata((ERROR_CODE, "evidence.too_large"), *((ERROR_KIND, k) for k in kind))
        return RemoteError.from_rpc(grpc.aio.AioRpcError(status, grpc.aio.Metadata(), md, "x"),
                                    "evaluation", "en")

    exhausted = grpc.StatusCode.RESOURCE_EXHAUSTED
    assert remote(exhausted, "TOO_LARGE").kind.http_status == 413
    assert remote(exhausted, "RATE_LIMITED").kind is Kind.RATE_LIMITED
    assert remote(exhausted).kind is Kind.RATE_LIMITED              # a service that does not say
    assert remote(grpc.StatusCode.NOT_FOUND, "TOO_LARGE").kind is Kind.NOT_FOUND  # status wins
    assert remote(exhausted, "NO_SUCH_KIND").kind is Kind.RATE_LIMITED
