"""Bad input gets a clear error in the caller's language, and nothing is half-written."""

from __future__ import annotations

import pytest

from tests.helpers import factory

pytestmark = pytest.mark.stack
T = "/api/v1/tenants/320000"


def test_malformed_json(as_user):  # type: ignore[no-untyped-def]
    r = as_user("jiangsu").post(f"{T}/units", content=b'{"kind": "factory",',
                                headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"] == {"code": "request.malformed_json", "message": "请求体不是有效的 JSON",
                                 "params": {}}


def test_wrong_types_name_the_fields(as_user):  # type: ignore[no-untyped-def]
    r = as_user("jiangsu", "en").post(f"{T}/units", json={"kind": "mine", "uscc": 42,
                                                          "name": ["x"], "location": "320102"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "request.invalid"
    assert {"kind", "uscc", "name"} <= {p["field"] for p in error["params"]["problems"]}
    assert error["message"].startswith("Invalid request fields")


def test_unknown_tenant_and_unknown_route(as_user):  # type: ignore[no-untyped-def]
    r = as_user("ministry").get("/api/v1/tenants/999999/units")
    assert r.status_code == 404 and r.json()["error"]["code"] == "tenant.unknown"
    assert as_user("ministry").get("/api/v1/nothing").json()["error"]["code"] == "request.no_route"


def test_oversize_body_is_refused_before_it_is_read(as_user, stack):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    big = b"kind,uscc,name,location\n" + b"factory,x,y,320102\n" * 400_000  # ~8 MB > 5 MB
    r = js.post(f"{T}/units/import", files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request.too_large"

    def chunks():  # no Content-Length: the limit must hold for a streamed body too
        for _ in range(120):
            yield b"x" * 65536

    r = js.post(f"{T}/units", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_bad_csv_file_refused_whole_and_nothing_written(as_user):  # type: ignore[no-untyped-def]
    js = as_user("jiangsu")
    body = factory()
    missing = f"kind,uscc,name\nfactory,{body['uscc']},{body['name']}\n".encode()
    r = js.post(f"{T}/units/import", files={"file": ("u.csv", missing, "text/csv")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "import.columns_missing"
    assert "location" in r.json()["error"]["message"]
    not_a_sheet = js.post(f"{T}/units/import", files={"file": ("u.xlsx", b"PK\x03\x04junk", "x")})
    assert not_a_sheet.json()["error"]["code"] == "import.xlsx_malformed"
    wrong_ext = js.post(f"{T}/units/import", files={"file": ("u.txt", b"a,b", "text/plain")})
    assert wrong_ext.json()["error"]["code"] == "request.file_format"
    assert js.get(f"{T}/units", params={"uscc": body["uscc"]}).json().get("units", []) == []


def test_gbk_csv_from_excel_is_read(as_user):  # type: ignore[no-untyped-def]
    body = factory()
    text = f"kind,uscc,name,location,industry\nfactory,{body['uscc']},{body['name']},320102,3311\n"
    r = as_user("jiangsu").post(f"{T}/units/import",
                                files={"file": ("u.csv", text.encode("gb18030"), "text/csv")})
    assert r.json()["accepted"] == 1
    assert as_user("jiangsu").get(f"{T}/units", params={"uscc": body["uscc"]}).json()["units"][0]["name"] == body["name"]


def test_login_errors_do_not_tell_which_part_was_wrong(stack):  # type: ignore[no-untyped-def]
    import httpx

    url = f"{stack.gateway_url}/api/v1/auth/login"
    a = httpx.post(url, json={"username": "jiangsu", "password": "wrong-1"})
    b = httpx.post(url, json={"username": "nobody-here", "password": "wrong-1"},
                   headers={"Accept-Language": "en"})
    assert a.status_code == b.status_code == 401
    assert a.json()["error"]["message"] == "用户名或密码错误"
    assert b.json()["error"]["message"] == "Wrong username or password"
    expired = httpx.get(f"{stack.gateway_url}/api/v1/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "auth.token_invalid"
