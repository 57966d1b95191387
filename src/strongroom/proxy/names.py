"""Name locking, the dependency-confusion guard: which names may come from upstream, and
which new local projects may be created.

A name with any local Project row (public or private, any status, every file deleted) is
never looked up upstream; neither is a name under a reserved prefix, even before any
project has it. A reserved prefix's names are created only by its organisation's members.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from packaging.utils import canonicalize_name

from strongroom.accounts.models import User
from strongroom.orgs.models import OrganizationRole
from strongroom.packages.models import Project
from strongroom.proxy.models import NameReservation, ShadowAllowance, UpstreamPage


class ReservedName(Exception):
    """A new project name the creator may not take; ``str()`` is the sentence to show
    (uploads answer 409 with it)."""


def normalize_prefix(prefix: str) -> str:
    """``Acme_`` and ``acme-`` are one prefix: canonicalize it as a name, keep a trailing
    separator (``acme-`` matches ``acme-utils``, not ``acmeutils``)."""
    stripped = prefix.strip()
    core = canonicalize_name(stripped.rstrip("-_."))
    return core + ("-" if stripped[-1:] in {"-", "_", "."} else "") if core else ""


def candidate_prefixes(normalized: str) -> list[str]:
    """Every prefix a reservation of ``normalized`` could have (two characters or more):
    looked up on the unique index, so the check costs the same however many exist."""
    return [normalized[:end] for end in range(2, len(normalized) + 1)]


def reservation_for(normalized: str) -> NameReservation | None:
    """The reservation whose prefix ``normalized`` starts with, if any (longest first)."""
    matches = NameReservation.objects.filter(prefix__in=candidate_prefixes(normalized))
    return matches.select_related("organization").order_by("-prefix").first()


def may_proxy(normalized: str) -> bool:
    """Whether ``normalized`` may be answered from upstream: no local project of that
    name in any state, and no reserved prefix matching it."""
    if Project.objects.filter(normalized_name=normalized).exists():
        return False
    return reservation_for(normalized) is None


def check_new_project(user: User | None, name: str) -> None:
    """Refuse (ReservedName) a new local project ``name`` that is under another holder's
    reserved prefix, or that the upstream also has, unless staff allowed it to shadow."""
    normalized = canonicalize_name(name)
    reservation = reservation_for(normalized)
    if reservation is not None:
        member = (
            user is not None
            and OrganizationRole.objects.filter(
                organization=reservation.organization, user=user
            ).exists()
        )
        if not member:
            raise ReservedName(
                _(
                    "The name '%(name)s' is reserved: names starting with '%(prefix)s' belong "
                    "to the organisation '%(org)s', and only its members may create them."
                )
                % {"name": name, "prefix": reservation.prefix, "org": reservation.organization}
            )
        return
    if ShadowAllowance.objects.filter(normalized_name=normalized).exists():
        return
    if UpstreamPage.objects.filter(normalized_name=normalized).exclude(files=[]).exists():
        raise ReservedName(
            _(
                "The name '%(name)s' is served from the upstream index; a local project of "
                "that name would hide it. Ask the index's staff to allow it (a fork)."
            )
            % {"name": name}
        )
