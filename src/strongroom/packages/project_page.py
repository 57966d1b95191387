"""What a project or release page shows, in PyPI's shape, from the stored core metadata:
links, licence, author, maintainers, classifiers, release history and the newest release."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from packaging.version import InvalidVersion, Version

from strongroom.packages.models import Project, Release, Role
from strongroom.packages.search import newest_release

# A free-text License field can be the whole licence: the sidebar shows its first line.
MAX_LICENSE_CHARS = 100


@dataclass(frozen=True)
class HistoryEntry:
    release: Release
    prerelease: bool


def _version(release: Release) -> Version | None:
    try:
        return Version(release.version)
    except InvalidVersion:
        return None


def is_web_url(url: str) -> bool:
    """Only http(s) links are shown: a ``javascript:`` Project-URL is never a link."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def project_links(release: Release) -> list[tuple[str, str]]:
    """(label, url) for the home page and each Project-URL, without duplicates."""
    links: list[tuple[str, str]] = []
    seen: set[str] = set()
    candidates = [(_("Homepage"), release.home_page)]
    candidates += [(str(k), str(v)) for k, v in (release.project_urls or {}).items()]
    if release.download_url:
        candidates.append((_("Download"), release.download_url))
    for label, url in candidates:
        url = url.strip()
        if url and url not in seen and is_web_url(url):
            seen.add(url)
            links.append((label[:60] or url, url))
    return links


def license_text(release: Release) -> str:
    """The SPDX expression where given, else the License field's first line (shortened)."""
    if release.license_expression:
        return release.license_expression
    first = (release.license or "").strip().splitlines()
    text = first[0] if first else ""
    if not text:
        text = next(
            (
                c.split(" :: ")[-1]
                for c in release.classifiers
                if str(c).startswith("License :: ") and c.count(" :: ") >= 2
            ),
            "",
        )
    return text if len(text) <= MAX_LICENSE_CHARS else text[: MAX_LICENSE_CHARS - 1] + "…"


def _person(name: str, email: str) -> str:
    """ "Jane Doe" from a name, or from "Jane Doe <jane@example.org>" in the email field."""
    if name.strip():
        return name.strip()
    return ", ".join(part.split("<")[0].strip() or part.strip() for part in email.split(","))


def grouped_classifiers(release: Release) -> list[tuple[str, list[str]]]:
    """Classifiers by their first part: [("Programming Language", ["Python :: 3", ...])]."""
    groups: dict[str, list[str]] = {}
    for classifier in release.classifiers:
        head, _sep, rest = str(classifier).partition(" :: ")
        groups.setdefault(head, []).append(rest or head)
    return sorted(groups.items())


def page_context(
    project: Project, release: Release | None, releases: list[Release]
) -> dict[str, Any]:
    """Everything the sidebar, the history and the "newer version" notice need."""
    newest = newest_release(project)
    maintainers = list(
        Role.objects.filter(project=project)
        .select_related("user")
        .filter(user__is_active=True)
        .order_by("user__username")
    )
    history = [
        HistoryEntry(r, prerelease=bool((v := _version(r)) and v.is_prerelease)) for r in releases
    ]
    context: dict[str, Any] = {
        "history": history,
        "maintainers": [role.user for role in maintainers],
        "newest": newest,
        "newer_exists": False,
    }
    if release is not None:
        current, latest = _version(release), newest and _version(newest)
        context.update(
            links=project_links(release),
            license=license_text(release),
            author=_person(release.author, release.author_email),
            maintainer=_person(release.maintainer, release.maintainer_email),
            classifiers=grouped_classifiers(release),
            is_prerelease=bool(current and current.is_prerelease),
            newer_exists=bool(current and latest and latest > current),
        )
    return context
