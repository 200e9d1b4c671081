"""The navigation bar is put together from what each app registers
(clinic_crm.staff.navigation): the same pages, order, icons and roles as when the staff
app listed them itself, each one a URL that resolves."""

from django.urls import reverse

from clinic_crm.staff.navigation import nav_items

A, D, C, M = "administrator", "doctor", "curator", "manager"
EVERYONE = {A, D, C, M}

# (url name, icon, roles, in the management menu), in the order the bar shows them.
BAR = [
    ("staff:home", "house", EVERYONE, False),
    ("journeys:calendar_day", "calendar3", {A, D, M}, False),
    ("patients:list", "people", EVERYONE, False),
    ("journeys:routing_queue", "signpost-split", {A, C}, False),
    ("journeys:worklist", "list-check", {C}, False),
    ("metrics:dashboard", "graph-up", {M}, False),
    ("metrics:report", "graph-up", {A, D, C}, False),
    ("journeys:checklist_rates", "ui-checks", {M}, True),
    ("feedback_staff:reason_agreement", "tags", {M}, True),
    ("metrics:weekly", "calendar-week", {M}, True),
    ("messaging:outbox", "envelope", {M}, True),
    ("staff:staff_list", "person-badge", {M}, True),
    ("audit:list", "journal-text", {M}, True),
]


def test_every_app_puts_its_pages_in_the_bar_in_the_same_order():
    assert [(i.url_name, i.icon, set(i.roles), i.management) for i in nav_items()] == BAR


def test_every_page_of_the_bar_resolves_and_has_a_label():
    for item in nav_items():
        assert reverse(item.url_name)
        assert str(item.label)
