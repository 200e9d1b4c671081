"""Each role's home page is put together from what the apps register
(clinic_crm.staff.home): the same shortcut cards in the same order as when the staff app's
templates listed them, the doctor's day as journeys' panel, and every card a page the
role may open."""

import pytest

from clinic_crm.staff.home import home_cards

CARDS = {
    "administrator": [
        "journeys:routing_queue",
        "journeys:calendar_day",
        "patients:create",
        "patients:list",
        "kiosk:visits",
    ],
    "doctor": ["journeys:calendar_day", "patients:list"],
    "curator": ["journeys:worklist", "journeys:routing_queue", "patients:list"],
    # The catalogue (branches, specialties, services) has been its own admin app since
    # it moved to core; the doctors' hours and checklists stay in the journeys' one.
    "manager": [
        "staff:staff_list",
        "audit:list",
        "admin:app_list/catalogue",
        "admin:app_list/journeys",
        "patients:list",
        "kiosk:devices",
    ],
}


def _name(card) -> str:
    return "/".join([card.url_name, *card.url_args])


def test_every_role_gets_its_cards_in_order():
    assert {role: [_name(c) for c in home_cards(role)] for role in CARDS} == CARDS


@pytest.mark.parametrize("role", list(CARDS))
def test_every_card_of_a_home_page_opens_for_that_role(role, staff_client):
    client, _user = staff_client(role)
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    urls = [card["url"] for card in response.context["home_cards"]]
    assert len(urls) == len(CARDS[role])
    for url in urls:
        assert url.encode() in response.content
        assert client.get(url).status_code == 200, url
    panels = response.context["home_panels"]
    assert panels == {
        "doctor": ["journeys/_home_doctor_day.html"],
        "manager": ["feedback/_home_escalations.html"],  # overdue recovery calls
    }.get(role, [])
    if role == "doctor":
        assert b'data-testid="today-visits"' in response.content
