"""The sandbox that managers' message templates are compiled and rendered in.

A message template is text a manager types in the admin, so it gets only what the
wording of a message needs: the documented variables (a name and, for the names that
have them, one of its documented attributes — never a deeper lookup such as
``patient.first_name.upper``), the ``if`` tag and a few text filters. No tag that reads
files, loads libraries, dumps the context or the server's state (``debug``,
``include``, ``load``, ``now``, ``url`` …) exists in this engine at all, so such a
template can't even be compiled. Everything is checked while the template is parsed,
where every variable passes through the parser (in ``{{ }}``, in ``{% if %}`` conditions
and as filter arguments); a refusal names the tag, filter or variable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.template import (
    Engine,
    Library,
    Template,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)
from django.template.base import FilterExpression, Lexer, Parser, Variable
from django.utils.translation import gettext as _

ALLOWED_TAGS = ("if", "comment")
# Tags that close or continue an allowed one: Django's own message when out of place.
_CLOSING_TAGS = frozenset({"elif", "else", "endif", "endcomment"})
ALLOWED_FILTERS = (
    "default",
    "default_if_none",
    "upper",
    "lower",
    "capfirst",
    "title",
    "truncatechars",
    "truncatewords",
)

# Deeper nesting of ``if`` than wording needs would only exhaust Python's stack when the
# template is parsed or rendered.
MAX_NESTING = 10


class TemplateRefused(TemplateSyntaxError):
    """A template that uses something message templates may not; the message, in the
    current language, says what."""


def _nested(tag):
    """Django's tag function, refusing to nest deeper than MAX_NESTING."""

    def compile_tag(parser, token):
        parser.depth += 1
        try:
            if parser.depth > MAX_NESTING:
                raise TemplateRefused(
                    _("Message templates can't nest “if” more than %(max)s deep.")
                    % {"max": MAX_NESTING}
                )
            return tag(parser, token)
        finally:
            parser.depth -= 1

    return compile_tag


# The engine's only built-in library: Django's own functions for the allowed names.
register = Library()
register.tags["if"] = _nested(defaulttags.do_if)
register.tags["comment"] = defaulttags.comment
for _name in ALLOWED_FILTERS:
    register.filters[_name] = defaultfilters.register.filters[_name]


def allowed_lookups(variables: Mapping[str, Iterable[str] | None]) -> frozenset[tuple[str, ...]]:
    """Every lookup a template may write, from ``{name: attributes or None}``."""
    lookups: set[tuple[str, ...]] = set()
    for name, attributes in variables.items():
        if attributes is None:
            lookups.add((name,))
        else:
            lookups.update((name, attribute) for attribute in attributes)
    return frozenset(lookups)


def _variable_text(lookups: Iterable[str]) -> str:
    return ".".join(lookups)


class _SandboxParser(Parser):
    def __init__(self, *args, allowed: frozenset[tuple[str, ...]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = allowed
        self.unknown_variables: list[str] = []
        self.depth = 0

    def invalid_block_tag(self, token, command, parse_until=None):
        if command in _CLOSING_TAGS:
            return super().invalid_block_tag(token, command, parse_until)
        raise self.error(
            token,
            TemplateRefused(
                _("The tag “%(tag)s” can't be used in message templates. Allowed: %(allowed)s.")
                % {"tag": command, "allowed": ", ".join(ALLOWED_TAGS)}
            ),
        )

    def find_filter(self, filter_name):
        if filter_name not in self.filters:
            raise TemplateRefused(
                _(
                    "The filter “%(filter)s” can't be used in message templates. "
                    "Allowed: %(allowed)s."
                )
                % {"filter": filter_name, "allowed": ", ".join(ALLOWED_FILTERS)}
            )
        return super().find_filter(filter_name)

    def compile_filter(self, token) -> FilterExpression:
        try:
            expression = super().compile_filter(token)
        except TemplateSyntaxError as exc:
            # Django's Variable refuses private names ("__class__") in English only.
            if isinstance(exc, TemplateRefused) or "underscore" not in str(exc):
                raise
            raise TemplateRefused(
                _("Names starting with an underscore can't be used in message templates: %(text)s")
                % {"text": token}
            ) from exc
        variables = [expression.var]
        variables += [arg for _func, args in expression.filters for is_var, arg in args if is_var]
        for variable in variables:
            # Literals ("text", 3, _("text")) have no lookups.
            lookups = variable.lookups if isinstance(variable, Variable) else None
            if lookups and tuple(lookups) not in self.allowed:
                text = _variable_text(lookups)
                if text not in self.unknown_variables:
                    self.unknown_variables.append(text)
        return expression


class SandboxTemplate(Template):
    """A template compiled by the sandbox's parser. ``unknown_variables`` lists the
    lookups it makes that are not allowed (rendering refuses such a template)."""

    unknown_variables: list[str]

    def compile_nodelist(self):
        parser = _SandboxParser(
            Lexer(self.source).tokenize(),
            self.engine.template_libraries,
            self.engine.template_builtins,
            self.origin,
            allowed=self.engine.allowed,
        )
        nodelist = parser.parse()
        self.extra_data = parser.extra_data
        self.unknown_variables = parser.unknown_variables
        return nodelist


class SandboxEngine(Engine):
    """An engine whose only tags and filters are the allowed ones, with no template
    loaders and no libraries to load."""

    default_builtins = ["clinic_crm.messaging.sandbox"]

    def __init__(self, *, variables: Mapping[str, Iterable[str] | None], **options) -> None:
        super().__init__(loaders=[], libraries={}, builtins=[], debug=False, **options)
        self.allowed = allowed_lookups(variables)

    def from_string(self, template_code: str) -> SandboxTemplate:
        return SandboxTemplate(template_code, engine=self)

    def find_template(self, name, dirs=None, skip=None):
        raise TemplateRefused(_("Message templates can't include other templates."))
