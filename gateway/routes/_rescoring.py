"""The counters of a re-scoring answer (``POST …/schemes/{scheme_id}/rescore``), added up by the
gateway as the service's rows stream through (``routes/_common.streamed``): the service sends
rows only, the answer ends with their totals."""

from __future__ import annotations

from typing import Any

from generated.evaluation.v1 import evaluation_pb2 as pb


class RescoreTally:
    """The counters of a re-scoring, added up as its rows pass through: how many evaluations,
    how many now fall below the mark, and, per indicator, how many evaluations it fell for."""

    def __init__(self) -> None:
        self.evaluations = 0
        self.now_below_mark = 0
        self.fell_by_indicator: dict[str, int] = {}

    def add(self, row: pb.RescoreRow) -> None:
        self.evaluations += 1
        self.now_below_mark += row.now_below_mark
        for change in row.changes:
            if change.fell:
                self.fell_by_indicator[change.indicator_id] = (
                    self.fell_by_indicator.get(change.indicator_id, 0) + 1)

    def closing(self) -> dict[str, Any]:
        return {"evaluations": self.evaluations, "now_below_mark": self.now_below_mark,
                "fell_by_indicator": self.fell_by_indicator}
