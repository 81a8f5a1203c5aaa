"""The world the evaluation use-case tests share: identities, the frozen facts other services
would give (unit, engagement, veto), and ``start``, ``fill``, ``submit``."""

from __future__ import annotations

from typing import Any

import pytest

from services.evaluation import handlers
from services.evaluation.facts import (
    EngagementStanding,
    InstitutionFact,
    UnitFact,
    VetoCondition,
    VetoFact,
    VetoRecord,
)
from services.evaluation.scoring import Quantity
from services.evaluation.store import Evaluation
from services.kernel.errors import DomainError
from services.kernel.identity import Grant, Identity
from tests.helpers import uscc
from tests.service.conftest import UseCases
from tests.unit.test_scoring import GBT2025_VALUES

T = "320000"
UNIT = UnitFact(id="u-1", uscc=uscc("320100"), site="", name="南京示例厂", kind="factory",
                location="320115", city="320100", industry="3971")
INSTITUTION = InstitutionFact(uscc=uscc("110000"), name="某认证中心", address="北京市",
                              legal_representative="王五")
OWNER = Identity("owner", (Grant("enterprise", T, org=UNIT.uscc),))
OTHER_ENTERPRISE = Identity("other", (Grant("enterprise", T, org=uscc("320100")),))
JIANGSU = Identity("js", (Grant("province", T),))
ZHEJIANG = Identity("zj", (Grant("province", "330000"),))
NANJING = Identity("nj", (Grant("city", T, city="320100"),))
SUZHOU = Identity("sz", (Grant("city", T, city="320500"),))
AUDITOR = Identity("auditor", (Grant("institution", T, org=INSTITUTION.uscc),))
OTHER_INSTITUTION = Identity("other-inst", (Grant("institution", T, org=uscc("110000")),))
ENGAGED = EngagementStanding(id="en-1", institution_uscc=INSTITUTION.uscc, unit_id=UNIT.id,
                             unit=UNIT, reports_accepted=True, institution=INSTITUTION)
NOT_ACCEPTED = EngagementStanding(**{**ENGAGED.__dict__, "reports_accepted": False})
CLEAR = VetoFact(vetoed=False, on="2025-10-11")
DEBTOR = VetoRecord(kind="dishonest_debtor", kind_zh="失信被执行人", kind_en="dishonest judgment debtor",
                    condition=6, occurred_on="2025-03-02", reference="（2025）苏01执123号",
                    source="信用中国")
VETOED = VetoFact(vetoed=True, on="2025-10-11", conditions=(
    VetoCondition(condition=6, code="dishonest_debtor", title="失信被执行人", records=(DEBTOR,),
                  title_zh="被列为失信被执行人", title_en="Listed as a dishonest judgment debtor"),))
ACCIDENT = VetoRecord(kind="safety_accident", kind_zh="安全事故", kind_en="safety accident",
                      condition=2, occurred_on="2024-05-06", reference="宁应急罚〔2024〕12号",
                      source="南京市应急管理局")
ACCIDENT_VETO = VetoFact(vetoed=True, on="2025-10-11", conditions=(
    VetoCondition(condition=2, code="accident_or_violation", title="发生安全等事故",
                  records=(ACCIDENT,), title_zh="发生安全、质量、环境污染等事故或违法违规行为",
                  title_en="Accident or violation"),))
VALUES = {k: ({"amount": str(v.amount), "unit": v.unit} if isinstance(v, Quantity)
              else {"option": v}) for k, v in GBT2025_VALUES.items()}
MET = {"lawful_operation": True, "no_major_accident": True, "management_body": True,
       "plan_and_targets": True}


def code_of(uc: UseCases, fn: Any, **kwargs: Any) -> str:
    """The code of the refusal a use case raises."""
    with pytest.raises(DomainError) as caught:
        uc(fn, **kwargs)
    return caught.value.code


def start(uc: UseCases, *, as_: Identity = OWNER, request_id: str = "r1",
          engagement: EngagementStanding | None = None, **kwargs: Any) -> Evaluation:
    """A draft of GB/T 36132-2025 v1 on ``UNIT`` (the institution's, with ``engagement``)."""
    fields = {"unit": UNIT, "scheme_id": "gbt36132-2025", "scheme_version": 1,
              "assisted_by": "", **kwargs}
    return uc(handlers.create, as_=as_, tenant=T, request_id=request_id, engagement=engagement,
              **fields)


def fill(uc: UseCases, evaluation_id: str, *, as_: Identity = OWNER,
         basic: dict[str, bool] | None = None) -> Evaluation:
    """Every indicator of the scheme, all basic requirements met unless ``basic`` says."""
    return uc(handlers.set_values, as_=as_, tenant=T, evaluation_id=evaluation_id,
              values=VALUES, basic=MET if basic is None else basic)


def submit(uc: UseCases, evaluation_id: str, *, as_: Identity = OWNER, **kwargs: Any) -> Evaluation:
    fields = {"veto": CLEAR, "highlights": "余热回收", "preparer": "", "reviewer": "",
              "pledge": True, "claimed_total": "", "standing": None, **kwargs}
    return uc(handlers.submit, as_=as_, tenant=T, evaluation_id=evaluation_id, **fields)
