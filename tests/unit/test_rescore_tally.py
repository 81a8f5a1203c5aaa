"""The gateway's re-scoring counters, added up as the service's rows stream through."""

from __future__ import annotations

from gateway.routes._rescoring import RescoreTally
from generated.evaluation.v1 import evaluation_pb2 as pb


def test_the_counters_add_up_the_rows_that_passed() -> None:
    tally = RescoreTally()
    assert tally.closing() == {"evaluations": 0, "now_below_mark": 0, "fell_by_indicator": {}}
    fell = pb.IndicatorChange(indicator_id="energy", old_points="8", new_points="4", fell=True)
    rose = pb.IndicatorChange(indicator_id="water", old_points="2", new_points="4", fell=False)
    for row in (pb.RescoreRow(evaluation_id="a", now_below_mark=True, changes=[fell, rose]),
                pb.RescoreRow(evaluation_id="b", now_below_mark=False, changes=[fell]),
                pb.RescoreRow(evaluation_id="c", now_below_mark=True)):
        tally.add(row)
    assert tally.closing() == {"evaluations": 3, "now_below_mark": 2,
                               "fell_by_indicator": {"energy": 2}}
