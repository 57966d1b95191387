"""``{% mfa_summary user as mfa %}`` for pages of other apps (the account page)."""

from __future__ import annotations

from typing import Any

from django import template

from strongroom.accounts.models import User
from strongroom.mfa.services import changes

register = template.Library()


@register.simple_tag
def mfa_summary(user: object) -> dict[str, Any]:
    if not isinstance(user, User):
        return {}
    return changes.summary(user)
