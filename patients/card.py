"""Panels that higher apps add to the patient card.

The card belongs to this app, but what a clinic wants to read on it comes mostly from
above: the journey (plans, visits, tasks, handoffs) from ``journeys``, and later the
feedback. ``patients`` may not import those apps, so each of them registers a panel
provider from its ``AppConfig.ready``::

    card_panel_register(key="journeys", provider=journey_panel, order=10)

A provider is called as ``provider(request=request, patient=patient)`` for every card
shown — the patient has already passed the access rule and the read is audited by the
card — and returns a :class:`CardPanel` (a template and its context) or None when it has
nothing to show this user. Providers read in a fixed number of queries, so the card's
cost stays constant whatever the patient's history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise

from .models import Patient


@dataclass(frozen=True)
class CardPanel:
    """What a provider adds to the card: a template included with ``panel`` set to
    ``context`` (the card's own context — ``patient``, ``request`` — is there too)."""

    template: str
    context: Mapping[str, object] = field(default_factory=dict)


CardPanelProvider = Callable[..., CardPanel | None]


@dataclass(frozen=True)
class _Registered:
    key: str
    order: int
    provider: CardPanelProvider


_providers: dict[str, _Registered] = {}


def card_panel_register(*, key: str, provider: CardPanelProvider, order: int = 100) -> None:
    """Adds (or replaces, for the same ``key``) a panel provider; panels show in
    ``order``, lowest first."""
    _providers[key] = _Registered(key=key, order=order, provider=provider)


def card_panel_unregister(*, key: str) -> None:
    _providers.pop(key, None)


@dataclass(frozen=True)
class CardLink:
    """A button in the card's header that opens another app's page of this patient
    (journeys: the treatment timeline). ``url_name`` takes the patient's id."""

    key: str
    url_name: str
    label: str | Promise
    icon: str  # a Bootstrap Icons name
    order: int


_links: dict[str, CardLink] = {}


def card_link_register(
    *, key: str, url_name: str, label: str | Promise, icon: str, order: int = 100
) -> None:
    """Adds (or replaces, for the same ``key``) a header button of the card; the pages
    it opens check their own access."""
    _links[key] = CardLink(key, url_name, label, icon, order)


def card_links(*, patient: Patient) -> list[dict[str, object]]:
    """The header buttons of this card, in order, each with its URL."""
    return [
        {
            "key": link.key,
            "url": reverse(link.url_name, args=[patient.pk]),
            "label": link.label,
            "icon": link.icon,
        }
        for link in sorted(_links.values(), key=lambda link: (link.order, link.key))
    ]


def card_panels(*, request: HttpRequest, patient: Patient) -> list[CardPanel]:
    """The panels of the registered providers for this card, in order."""
    panels = []
    for registered in sorted(_providers.values(), key=lambda r: (r.order, r.key)):
        panel = registered.provider(request=request, patient=patient)
        if panel is not None:
            panels.append(panel)
    return panels
