"""The JSON API in PyPI's shape: /pypi/<project>/json and /pypi/<project>/<version>/json."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from packaging.version import InvalidVersion, Version

from strongroom.index.pages import project_files
from strongroom.packages.models import File, Project, Release
from strongroom.packages.services import sort_releases

Absolute = Callable[[str], str]


def _file_entry(file: dict[str, Any], absolute: Absolute, url: str) -> dict[str, Any]:
    moment = file["upload_time"]
    return {
        "comment_text": "",
        "digests": {
            "blake2b_256": file["blake2_256_digest"],
            "md5": file["md5_digest"],
            "sha256": file["sha256_digest"],
        },
        "downloads": -1,
        "filename": file["filename"],
        "has_sig": False,
        "md5_digest": file["md5_digest"],
        "packagetype": file["packagetype"],
        "python_version": file["python_version"],
        "requires_python": file["requires_python"] or None,
        "size": file["size"],
        "upload_time": moment.strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "url": url if url.startswith(("https://", "http://")) else absolute(url),
        "yanked": file["release__yanked"],
        "yanked_reason": file["release__yanked_reason"] or None,
    }


def _info(project: Project, release: Release, absolute: Absolute) -> dict[str, Any]:
    project_url = absolute(f"/project/{project.normalized_name}/")
    return {
        "author": release.author,
        "author_email": release.author_email,
        # PyPI keeps these keys for old clients; it has no bug tracker or docs host.
        "bugtrack_url": None,
        "classifiers": release.classifiers,
        "description": release.description,
        "description_content_type": release.description_content_type or None,
        "docs_url": None,
        "download_url": release.download_url,
        "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
        "home_page": release.home_page,
        "keywords": ",".join(release.keywords),
        "license": release.license,
        "license_expression": release.license_expression or None,
        "maintainer": release.maintainer,
        "maintainer_email": release.maintainer_email,
        "name": project.name,
        "package_url": project_url,
        "platform": ", ".join(release.platforms) or None,
        "project_url": project_url,
        "project_urls": release.project_urls or None,
        "provides_extra": release.provides_extra or None,
        "release_url": absolute(f"/project/{project.normalized_name}/{release.version}/"),
        "requires_dist": release.requires_dist or None,
        "requires_python": release.requires_python or None,
        "summary": release.summary,
        "version": release.version,
        "yanked": release.yanked,
        "yanked_reason": release.yanked_reason or None,
    }


_PUBLISHER_FIELDS = ("issuer", "kind", "repository", "workflow", "environment", "ref", "sha")


def trusted_publishers(project: Project) -> dict[str, dict[str, str]]:
    """filename -> the trusted publisher that uploaded it (publishing.PublishedFile), with
    ``summary``: "Published by trusted publisher ..." as the release page says it."""
    names = [f"trusted_publication__{name}" for name in (*_PUBLISHER_FIELDS, "summary")]
    rows = File.objects.filter(project=project, trusted_publication__isnull=False).values(
        "filename", *names
    )
    return {
        row["filename"]: {
            **{name: row[f"trusted_publication__{name}"] for name in _PUBLISHER_FIELDS},
            "summary": f"Published by trusted publisher {row['trusted_publication__summary']}",
        }
        for row in rows
    }


def _is_prerelease(release: Release) -> bool:
    try:
        return Version(release.version).is_prerelease
    except InvalidVersion:
        return False


def latest_release(releases: list[Release]) -> Release | None:
    """The release ``info`` describes, as PyPI chooses it: the newest non-yanked final
    release; else the newest non-yanked pre-release; else the newest of any kind."""
    ordered = sort_releases(releases)
    standing = [release for release in ordered if not release.yanked]
    for release in standing:
        if not _is_prerelease(release):
            return release
    if standing:
        return standing[0]
    return ordered[0] if ordered else None


def project_document(
    project: Project, release: Release | None, absolute: Absolute, url_of: Callable[[str], str]
) -> dict[str, Any] | None:
    """The project document (``release`` None: the latest) or None if it has no releases."""
    releases = list(Release.objects.filter(project=project))
    chosen = release or latest_release(releases)
    if chosen is None:
        return None
    by_version: dict[str, list[dict[str, Any]]] = {r.version: [] for r in sort_releases(releases)}
    publishers = trusted_publishers(project)
    for file in project_files(project):
        entry = _file_entry(file, absolute, url_of(file["path"]))
        if file["filename"] in publishers:
            entry["trusted_publisher"] = publishers[file["filename"]]
        by_version.setdefault(file["release__version"], []).append(entry)
    document: dict[str, Any] = {
        "info": _info(project, chosen, absolute),
        "last_serial": project.last_serial,
        "urls": by_version.get(chosen.version, []),
        "vulnerabilities": [],
    }
    if release is None:
        document["releases"] = dict(reversed(by_version.items()))
    return document
