"""The card's header buttons come from the apps above (patients.card.card_link_register):
journeys adds the treatment timeline, so the card opens it without patients naming a
journeys page."""

import pytest

from patients.card import card_links
from tests.conftest import verified_client_for

pytestmark = pytest.mark.django_db


def test_journeys_puts_the_timeline_button_on_the_card(clinic):
    links = card_links(patient=clinic.patient)
    assert [(link["key"], link["url"]) for link in links] == [
        ("timeline", f"/patients/{clinic.patient.pk}/timeline/")
    ]
    response = verified_client_for(clinic.doctor).get(f"/patients/{clinic.patient.pk}/")
    assert response.status_code == 200
    assert (
        f'href="/patients/{clinic.patient.pk}/timeline/" data-testid="open-timeline"'.encode()
        in (response.content)
    )
