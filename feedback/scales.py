"""The answer scales of the clinic's surveys. Feedback owns them (it judges an answer
negative the moment it is given); the metrics count by the same classes."""

from __future__ import annotations

from typing import Literal

PROMOTER_MIN = 9  # 9–10
DETRACTOR_MAX = 6  # 0–6; 7–8 are passives
NPS_SCALE = range(0, 11)

NpsClass = Literal["promoter", "passive", "detractor"]


def nps_class(score: int) -> NpsClass:
    """ "promoter" (9–10), "passive" (7–8) or "detractor" (0–6) for an answer 0–10."""
    if isinstance(score, bool) or score not in NPS_SCALE:
        raise ValueError(f"an NPS answer is a whole number from 0 to 10, not {score!r}")
    if score >= PROMOTER_MIN:
        return "promoter"
    if score <= DETRACTOR_MAX:
        return "detractor"
    return "passive"
