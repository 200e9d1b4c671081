"""What a message says: its links (messaging's own opt-out link, and those the layers
above register), the facts of what it is about (given by the layer that plans it, and
asked again of the registered providers when it is re-rendered for another channel), and
its subject and body for a channel, from its template."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..links import optout_url
from ..models import (
    TRANSACTIONAL_KINDS,
    Message,
)
from ..rendering import patient_context, render, wording_for

LinkProvider = Callable[[Message], dict[str, str]]
FactsProvider = Callable[[Message], dict[str, Any]]
_link_providers: list[LinkProvider] = []
_facts_providers: list[FactsProvider] = []


def message_links_register(provider: LinkProvider) -> None:
    """Adds ``provider(message) -> {name: absolute url}`` to every message's template
    context (the layers above add their links: a patient's calendar). Registered in
    ``AppConfig.ready``."""
    if provider not in _link_providers:
        _link_providers.append(provider)


def message_facts_register(provider: FactsProvider) -> None:
    """Adds ``provider(message) -> {variable: plain data}``, asked when a stored message
    is rendered again (for a channel it was not planned for): the layer that planned it
    finds again what it is about (journeys: its visit, plan and stage). Registered in
    ``AppConfig.ready``; a provider returns {} for messages that are not its own."""
    if provider not in _facts_providers:
        _facts_providers.append(provider)


def _links(message: Message) -> dict[str, str]:
    links: dict[str, str] = {}
    for provider in _link_providers:
        links.update(provider(message))
    if message.kind not in TRANSACTIONAL_KINDS:
        links["optout_url"] = optout_url(patient_id=message.patient_id, kind=message.kind)
    return links


def _facts_again(message: Message) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for provider in _facts_providers:
        facts.update(provider(message))
    return facts


def message_text(
    message: Message, *, channel: str, facts: Mapping[str, Any] | None = None
) -> tuple[str, str]:
    """The message's subject and body for ``channel``, from its template, the facts of
    what it is about (``None``: asked again of the registered providers), its links and
    its stored extra data."""
    context = {
        **patient_context(message.patient),
        **(facts if facts is not None else _facts_again(message)),
        **_links(message),
        **(message.context or {}),
    }
    wording = wording_for(kind=message.kind, language=message.language, channel=channel)
    return render(wording, context, language=message.language)
