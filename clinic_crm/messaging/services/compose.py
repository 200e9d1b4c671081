"""What a message says: its links (messaging's own opt-out link, and those the layers
above register) and its subject and body for a channel, from its template."""

from __future__ import annotations

from collections.abc import Callable

from ..links import optout_url
from ..models import (
    TRANSACTIONAL_KINDS,
    Message,
)
from ..rendering import journey_context, render, wording_for

LinkProvider = Callable[[Message], dict[str, str]]
_link_providers: list[LinkProvider] = []


def message_links_register(provider: LinkProvider) -> None:
    """Adds ``provider(message) -> {name: absolute url}`` to every message's template
    context (the layers above add their links: a patient's calendar, a reminder's answer
    page). Registered in ``AppConfig.ready``."""
    if provider not in _link_providers:
        _link_providers.append(provider)


def _links(message: Message) -> dict[str, str]:
    links: dict[str, str] = {}
    for provider in _link_providers:
        links.update(provider(message))
    if message.kind not in TRANSACTIONAL_KINDS:
        links["optout_url"] = optout_url(patient_id=message.patient_id, kind=message.kind)
    return links


def message_text(message: Message, *, channel: str) -> tuple[str, str]:
    """The message's subject and body for ``channel``, from its template and the journey
    rows it is about."""
    visit, plan = message.visit, message.plan
    context = journey_context(
        patient=message.patient,
        visit=visit,
        stage=message.stage,
        plan=plan,
        links={**_links(message), **(message.context or {})},
    )
    wording = wording_for(kind=message.kind, language=message.language, channel=channel)
    return render(wording, context, language=message.language)
