"""The level an evaluation is for (申报级别: 市级 / 省级 / 国家级): it sets the pass mark."""

from __future__ import annotations

from services.evaluation.facts import EngagementStanding
from services.evaluation.schemes import LEVELS
from services.kernel.errors import Kind, Refusal, invalid

LEVEL_NAMES = {"municipal": ("市级", "municipal"), "provincial": ("省级", "provincial"),
               "national": ("国家级", "national")}


def level_refusal(requested: str, engagement: EngagementStanding | None) -> Refusal | None:
    """An institution's evaluation is for the level of its engagement: it may say nothing, or
    the same level, not another."""
    if engagement is None or not requested or not engagement.level:
        return None
    if requested == engagement.level:
        return None
    return Refusal("evaluation.level_engagement", Kind.INVALID,
                   {"value": requested, "engagement": engagement.level})


def applied_level(requested: str, engagement: EngagementStanding | None) -> str:
    """The level kept with the evaluation: the engagement's for an institution's, else the one
    asked for; "" when none is said (the scheme's default pass mark). Refuses a value that is
    not a level (``evaluation.level_unknown``)."""
    level = engagement.level if engagement is not None and engagement.level else requested
    if level and level not in LEVELS:
        raise invalid("evaluation.level_unknown", value=level[:40], allowed="/".join(LEVELS))
    return level
