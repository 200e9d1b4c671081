"""What the role home pages show. The staff app writes each role's heading; the apps
register the rest in their ``AppConfig.ready`` (the staff app names none of their pages):
shortcut cards per role (``home_card_register``) and, per role, a provider of context
with an optional panel template (``home_provider_register``: journeys' doctor's day)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise

HomeProvider = Callable[[HttpRequest], dict[str, Any]]


@dataclass(frozen=True)
class _Provider:
    provider: HomeProvider
    template: str | None


@dataclass(frozen=True)
class HomeCard:
    url_name: str
    url_args: tuple[Any, ...]
    title: str | Promise
    text: str | Promise
    icon: str  # a Bootstrap Icons name
    order: int


_providers: dict[str, list[_Provider]] = {}
_cards: dict[str, dict[tuple[str, tuple[Any, ...]], HomeCard]] = {}


def home_provider_register(
    *, role: str, provider: HomeProvider, template: str | None = None
) -> None:
    """Adds ``provider``'s context to ``role``'s home page (once, however often called)
    and, with ``template``, a panel that the page includes before its cards. The
    provider checks nothing (the home view has) and audits what it reads."""
    providers = _providers.setdefault(role, [])
    entry = _Provider(provider, template)
    if entry not in providers:
        providers.append(entry)


def home_card_register(
    *,
    role: str,
    url_name: str,
    title: str | Promise,
    text: str | Promise,
    icon: str,
    order: int,
    url_args: tuple[Any, ...] = (),
) -> None:
    """Adds a shortcut card to ``role``'s home page (once per page), shown in ``order``."""
    _cards.setdefault(role, {})[(url_name, url_args)] = HomeCard(
        url_name, url_args, title, text, icon, order
    )


def home_cards(role: str) -> list[HomeCard]:
    return sorted(_cards.get(role, {}).values(), key=lambda card: (card.order, card.url_name))


def home_context(request: HttpRequest, role: str) -> dict[str, Any]:
    context: dict[str, Any] = {}
    panels: list[str] = []
    for entry in _providers.get(role, ()):
        context.update(entry.provider(request))
        if entry.template:
            panels.append(entry.template)
    context["home_panels"] = panels
    context["home_cards"] = [
        {
            "url": reverse(card.url_name, args=card.url_args),
            "title": card.title,
            "text": card.text,
            "icon": card.icon,
        }
        for card in home_cards(role)
    ]
    return context
