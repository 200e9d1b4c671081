"""What the role home pages show beyond the staff app's own parts. The apps above register
a provider per role in their ``AppConfig.ready`` (the staff app imports none of them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

HomeProvider = Callable[[HttpRequest], dict[str, Any]]

_providers: dict[str, list[HomeProvider]] = {}


def home_provider_register(*, role: str, provider: HomeProvider) -> None:
    """Adds ``provider``'s context to ``role``'s home page (once, however often called).
    The provider checks nothing (the home view has) and audits what it reads."""
    providers = _providers.setdefault(role, [])
    if provider not in providers:
        providers.append(provider)


def home_context(request: HttpRequest, role: str) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for provider in _providers.get(role, ()):
        context.update(provider(request))
    return context
