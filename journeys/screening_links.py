"""The signed, expiring link to a visit's pre-visit questionnaire, sent with the visit's
reminder (journeys.patient_links has the other patient links; they share the signing)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from clinic_crm.messaging.links import (
    LinkExpired,
    LinkInvalid,
    patient_link_token,
    unsign_patient_link,
)
from clinic_crm.messaging.rendering import absolute_url

from .models import Visit

SCREENING_SALT = "journeys.screening"


class ScreeningLinkProblem(Exception):
    """A questionnaire link that can't be used, with the patient-facing reason."""


def screening_link_path(*, visit: Visit) -> str:
    token = patient_link_token({"v": visit.pk}, salt=SCREENING_SALT)
    return reverse("journeys:screening", args=[token])


def screening_link_url(*, visit: Visit) -> str:
    """The questionnaire link of a visit. It names only the visit: a moved visit keeps
    its questionnaire, and the page closes once the visit has started."""
    return absolute_url(screening_link_path(visit=visit))


def screening_link_target(token: str) -> int:
    """The visit id of a genuine, unexpired link; ScreeningLinkProblem otherwise (its
    message is lazy: ``str()`` gives it in the language active then)."""
    try:
        data = unsign_patient_link(token, salt=SCREENING_SALT, keys="v")
    except LinkExpired as exc:
        raise ScreeningLinkProblem(_("This link has expired. Please call the clinic.")) from exc
    except LinkInvalid as exc:
        raise ScreeningLinkProblem(
            _("This link is not valid. If you copied it, check that it is complete.")
        ) from exc
    return int(data["v"])
