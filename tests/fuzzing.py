"""Shared pieces of the hypothesis fuzz tests: hostile text, the routes, what is stored.

The fuzz tests walk the real URLconf and the real forms, so a new view, path parameter
or form field is fuzzed without anyone remembering to add it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from django import forms
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text a client can send: no lone surrogates (they cannot be encoded), but control
# characters, bidi overrides, other scripts' digits, and lengths past every limit.
any_text = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.text(alphabet="0123456789.-_+!~%/\\ abcXYZ", max_size=40),
    st.integers(min_value=4000, max_value=6000).map(lambda n: "1" * n),
    st.sampled_from(
        ["", " ", "\x00", "\u202e", "١٢٣٤٥٦", "１２３４５６", "-1", "1e999", "NaN", "0x1F",  # noqa: RUF001
         "..", "%00", "%2e%2e", "a" * 5000, "00000000-0000-0000-0000-000000000000",
         "'; DROP TABLE x; --", "<script>", "true", "null", "[]", "{}"]
    ),
)  # fmt: skip

_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def routes() -> list[str]:
    """Every path() route of the URLconf, prefixes joined (the admin's regexes aside)."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for entry in patterns:
            if not isinstance(entry.pattern, RoutePattern):
                continue
            route = prefix + str(entry.pattern._route)
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                yield route

    return list(walk(get_resolver().url_patterns, ""))


def parameters(route: str) -> list[tuple[str, str]]:
    """(converter, name) of each path parameter of ``route``."""
    return [(m["converter"] or "str", m["name"]) for m in _PARAM.finditer(route)]


def segment(converter: str, known: list[str]) -> st.SearchStrategy[str]:
    """Values for one path parameter: real ones (to reach deep code) and hostile ones."""
    if converter == "int":
        hostile = st.one_of(
            st.integers(min_value=0, max_value=10**30).map(str),
            st.integers(min_value=4000, max_value=5000).map(lambda n: "9" * n),
        )
    elif converter == "path":
        hostile = st.lists(any_text, min_size=1, max_size=5).map("/".join)
    else:
        hostile = any_text.filter(lambda text: text != "")
    return st.sampled_from(known) | hostile if known else hostile


def fill(route: str, values: dict[str, str]) -> str:
    """The URL of ``route`` with its parameters percent-encoded from ``values``."""

    def value(match: re.Match[str]) -> str:
        safe = "/" if match["converter"] == "path" else ""
        return quote(values[match["name"]], safe=safe)

    return "/" + _PARAM.sub(value, route)


def form_classes() -> list[type[forms.Form]]:
    """Every form class of every app's forms.py."""
    import importlib

    found: list[type[forms.Form]] = []
    for app in ("accounts", "events", "mfa", "packages", "tokens"):
        module = importlib.import_module(f"strongroom.{app}.forms")
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(value, forms.BaseForm)
                and value.__module__ == module.__name__
                and not value.__name__.startswith("_")
            ):
                found.append(value)
    return found


def field_names() -> list[str]:
    """The names of all fields of all forms, and the fields views read from POST directly."""
    names = {name for form in form_classes() for name in form.base_fields}
    names |= {"token_id", "next", "action", "email_id", "session_id", "role_id", "role_name",
              "invitation_id", "required", "passkey", "name"}  # fmt: skip
    return sorted(names)


def form_data(names: list[str]) -> st.SearchStrategy[dict[str, str | list[str]]]:
    """POST bodies: any subset of the known field names (some repeated), hostile values."""
    value = any_text | st.lists(any_text, min_size=2, max_size=3)
    return st.dictionaries(st.sampled_from(names) | any_text, value, max_size=6)


def query_data() -> st.SearchStrategy[dict[str, str]]:
    names = ["q", "page", "format", "tag", "user", "project", "since", "until", "next",
             "uid", "token", "ip", "before", "after", "o"]  # fmt: skip
    return st.dictionaries(st.sampled_from(names) | any_text, any_text, max_size=4)


def stored_state() -> dict[str, Any]:
    """What a refused request must leave unchanged (audit events aside: failures are
    recorded on purpose)."""
    from strongroom.accounts.models import Email, User
    from strongroom.mfa.models import RecoveryCode, SecurityKey, TOTPDevice
    from strongroom.packages.models import File, Project, Release, Role, RoleInvitation
    from strongroom.tokens.models import ApiToken

    state: dict[str, Any] = {
        model.__name__: sorted(model.objects.values_list("pk", flat=True))
        for model in (User, Email, Project, Release, File, Role, RoleInvitation, SecurityKey,
                      RecoveryCode, ApiToken)
    }  # fmt: skip
    state["confirmed_totp"] = TOTPDevice.objects.filter(confirmed=True).count()
    state["yanked"] = sorted(Release.objects.filter(yanked=True).values_list("pk", flat=True))
    state["passwords"] = sorted(User.objects.values_list("password", flat=True))
    state["roles"] = sorted(Role.objects.values_list("pk", "role_name"))
    state["emails"] = sorted(Email.objects.values_list("pk", "primary", "verified"))
    return state
