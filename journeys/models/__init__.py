"""The journeys' models, by responsibility (the same names as in services, selectors and
views): availability, plans, visits, handoffs, events, worklist, waitlist, checklists,
the pre-visit screening, and the messages about them."""

from .answers import LinkAnswer
from .availability import ScheduleException, Weekday, WorkingHours
from .checklists import ChecklistCompletion, ChecklistItem, ChecklistTemplate
from .events import JourneyEvent
from .handoffs import Handoff
from .messages import JourneyMessage
from .plans import PlanOption, Stage, TreatmentPlan
from .screening import Screening, ScreeningForm, ScreeningQuestion
from .visits import TsTzRange, Visit
from .waitlist import WaitlistEntry
from .worklist import Task

__all__ = [
    "LinkAnswer",
    "ChecklistCompletion",
    "ChecklistItem",
    "ChecklistTemplate",
    "Handoff",
    "JourneyEvent",
    "JourneyMessage",
    "PlanOption",
    "ScheduleException",
    "Screening",
    "ScreeningForm",
    "ScreeningQuestion",
    "Stage",
    "Task",
    "TreatmentPlan",
    "TsTzRange",
    "Visit",
    "WaitlistEntry",
    "Weekday",
    "WorkingHours",
]
