"""The world the institutions use-case tests share: a ministry, two provinces, two cities, and
verified institutions filed in a province, built through the use cases themselves."""

from __future__ import annotations

from typing import Any

import pytest

from services.institutions import handlers
from services.institutions.store import Institution
from services.kernel.errors import DomainError
from services.kernel.identity import Grant, Identity
from tests.helpers import person_id, uscc
from tests.service.conftest import UseCases

N, JS, ZJ = "000000", "320000", "330000"
MINISTRY = Identity(subject="ministry", grants=(Grant("ministry", N),))
JIANGSU = Identity(subject="js", grants=(Grant("province", JS),))
ZHEJIANG = Identity(subject="zj", grants=(Grant("province", ZJ),))
NANJING = Identity(subject="nj", grants=(Grant("city", JS, city="320100"),))
SUZHOU = Identity(subject="sz", grants=(Grant("city", JS, city="320500"),))


def institution(code: str) -> Identity:
    """The account of the institution ``code`` (national; it acts in provinces by a crossing)."""
    return Identity(subject=f"inst-{code}", grants=(Grant("institution", N, org=code),))


def profile(code: str, rep: int = 1, **fields: Any) -> dict[str, Any]:
    """A profile that meets every rule: ten full-time evaluators, half senior, recent experience."""
    return {
        "uscc": code, "name": "绿评认证中心", "legal_representative": "王某",
        "legal_rep_id": person_id(rep), "address": "北京市海淀区", "parent_uscc": "",
        "contact": "010-1234", "qualifications": ["CMA"],
        "staff": [{"name": f"评价员{i}", "title": "senior" if i < 5 else "intermediate",
                   "full_time": True, "field": "", "also_employed_by": []} for i in range(10)],
        "experience": [{"year": 2025, "description": "省级绿色工厂评价"}],
        "scope_categories": ["factory", "park"], "scope_industries": [], **fields}


def register(uc: UseCases, code: str, rep: int = 1, as_: Identity = MINISTRY,
             **fields: Any) -> Institution:
    inst, _ = uc(handlers.register, as_=as_, tenant=N, raw=profile(code, rep, **fields))
    return inst


def verified(uc: UseCases, rep: int = 1, provinces: tuple[str, ...] = (JS,),
             **fields: Any) -> Institution:
    """A new institution, verified by the ministry and filed in ``provinces``."""
    code = uscc("110108")
    register(uc, code, rep, **fields)
    inst = uc(handlers.verify, as_=MINISTRY, tenant=N, uscc=code)
    for province in provinces:
        uc(handlers.file, as_=Identity(f"p{province}", (Grant("province", province),)),
           tenant=province, uscc=code, reason="备案")
    return inst


def refused(fn: Any, *args: Any, **kwargs: Any) -> DomainError:
    """The refusal a use case raises."""
    with pytest.raises(DomainError) as err:
        fn(*args, **kwargs)
    return err.value
