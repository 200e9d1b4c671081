"""The staff navigation bar. Each app registers its own pages in its ``AppConfig.ready``
(the staff app names no other app's URLs); the bar shows a user the pages of their role,
in ``order``, with the management pages in one menu so a manager's bar fits 1280 px."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str | Promise
    icon: str  # a Bootstrap Icons name
    roles: tuple[str, ...]
    order: int
    management: bool = False


_items: dict[str, NavItem] = {}


def nav_item_register(
    *,
    url_name: str,
    label: str | Promise,
    icon: str,
    roles: Iterable[str],
    order: int,
    management: bool = False,
) -> None:
    """Adds a page to the bar (once per URL name, however often called)."""
    _items[url_name] = NavItem(url_name, label, icon, tuple(roles), order, management)


def nav_items() -> list[NavItem]:
    return sorted(_items.values(), key=lambda item: (item.order, item.url_name))
