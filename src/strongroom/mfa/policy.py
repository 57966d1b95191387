"""Who must keep a second factor. Later issues (project and organisation policies) add
their rules here, so every path that removes a factor asks one function."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from strongroom.accounts.models import User


def two_factor_required_for(user: User) -> str | None:
    """The reason ``user`` must keep two-factor authentication, or None when nothing does."""
    if settings.REQUIRE_2FA == "all":
        return _("This site requires two-factor authentication for every account.")
    return None
