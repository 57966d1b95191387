"""Proxied project pages: the upstream's files minus those still in the cooldown, with
links rewritten to download through Strongroom (``/upstream/files/<sha256>/<name>``)."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.utils.dateparse import parse_datetime
from django.utils.html import escape
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion

from strongroom.proxy import upstream
from strongroom.proxy.models import CooldownExemption, UpstreamPage
from strongroom.web.http import absolute_url

API_VERSION = "1.4"


def file_version(filename: str) -> str:
    """The version a wheel's or sdist's name carries; empty when it names none."""
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return ""


def _uploaded(entry: dict[str, Any]) -> datetime | None:
    raw = entry.get("upload_time") or ""
    try:
        return parse_datetime(raw) if raw else None
    except ValueError:
        return None


def offered_files(page: UpstreamPage, now: datetime) -> list[dict[str, Any]]:
    """The files to list: none for a quarantined project (PEP 792); without those younger
    than UPSTREAM_COOLDOWN (or of unknown age, while a cooldown is set) unless exempted."""
    if page.status == "quarantined":
        return []
    cooldown = upstream.config().cooldown
    if not cooldown:
        return list(page.files)
    exempt = set(
        CooldownExemption.objects.filter(normalized_name=page.normalized_name).values_list(
            "version", flat=True
        )
    )
    if "" in exempt:
        return list(page.files)
    cutoff = now - timedelta(seconds=cooldown)
    offered = []
    for entry in page.files:
        uploaded = _uploaded(entry)
        if (uploaded is not None and uploaded <= cutoff) or (
            exempt and file_version(entry["filename"]) in exempt
        ):
            offered.append(entry)
    return offered


def download_path(entry: dict[str, Any]) -> str:
    return f"/upstream/files/{entry['sha256']}/{entry['filename']}"


def provenance_url(
    page: UpstreamPage, entry: dict[str, Any], attested: Collection[str]
) -> str | None:
    """PEP 740: OUR Integrity API URL for a file whose upstream provenance was verified
    (``attested``: their sha256); None for any other, whatever the upstream claims."""
    version = file_version(entry["filename"])
    if entry["sha256"] not in attested or not version:
        return None
    path = f"/integrity/{page.normalized_name}/{version}/{entry['filename']}"
    return absolute_url(quote(path) + "/provenance")


def page_json(
    page: UpstreamPage,
    files: list[dict[str, Any]],
    attested: frozenset[str] | set[str] = frozenset(),
) -> bytes:
    listed = []
    for entry in files:
        item: dict[str, Any] = {
            "filename": entry["filename"],
            "url": download_path(entry),
            "hashes": {"sha256": entry["sha256"]},
            "requires-python": entry.get("requires_python") or None,
            "yanked": entry.get("yanked") or False,
        }
        if entry.get("metadata_sha256"):
            item["core-metadata"] = {"sha256": entry["metadata_sha256"]}
            item["data-dist-info-metadata"] = item["core-metadata"]
        if entry.get("size"):
            item["size"] = entry["size"]
        if entry.get("upload_time"):
            item["upload-time"] = entry["upload_time"]
        item["provenance"] = provenance_url(page, entry, attested)
        listed.append(item)
    versions = sorted({v for f in files if (v := file_version(f["filename"]))})
    document: dict[str, Any] = {
        "meta": {"api-version": API_VERSION},
        "name": page.normalized_name,
        "files": listed,
        "versions": versions,
    }
    if page.status:
        document["project-status"] = {"status": page.status}
        if page.status_reason:
            document["project-status"]["reason"] = page.status_reason
    return json.dumps(document, separators=(",", ":")).encode()


def page_html(
    page: UpstreamPage,
    files: list[dict[str, Any]],
    attested: frozenset[str] | set[str] = frozenset(),
) -> bytes:
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "<head>",
        f'<meta name="pypi:repository-version" content="{API_VERSION}">',
    ]
    if page.status:
        lines.append(f'<meta name="pypi:project-status" content="{escape(page.status)}">')
        if page.status_reason:
            reason = escape(page.status_reason)
            lines.append(f'<meta name="pypi:project-status-reason" content="{reason}">')
    lines += [f"<title>Links for {escape(page.normalized_name)}</title>", "</head>", "<body>"]
    lines.append(f"<h1>Links for {escape(page.normalized_name)}</h1>")
    for entry in files:
        attrs = ""
        if entry.get("requires_python"):
            attrs += f' data-requires-python="{escape(entry["requires_python"])}"'
        if entry.get("metadata_sha256"):
            meta = f"sha256={entry['metadata_sha256']}"
            attrs += f' data-core-metadata="{meta}" data-dist-info-metadata="{meta}"'
        yanked = entry.get("yanked")
        if yanked:
            attrs += f' data-yanked="{escape(yanked if isinstance(yanked, str) else "")}"'
        provenance = provenance_url(page, entry, attested)
        if provenance:
            attrs += f' data-provenance="{escape(provenance)}"'
        href = f"{download_path(entry)}#sha256={entry['sha256']}"
        lines.append(f'<a href="{escape(href)}"{attrs}>{escape(entry["filename"])}</a><br>')
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines).encode()


def json_api(
    page: UpstreamPage, files: list[dict[str, Any]], absolute: Any, version: str | None
) -> dict[str, Any] | None:
    """A PyPI-style ``/pypi/<name>/json`` document built from the proxied page (no
    metadata beyond what the simple API carries); None when ``version`` has no files."""
    releases: dict[str, list[dict[str, Any]]] = {}
    for entry in files:
        found = file_version(entry["filename"])
        if not found:
            continue
        releases.setdefault(found, []).append(
            {
                "filename": entry["filename"],
                "url": absolute(download_path(entry)),
                "digests": {"sha256": entry["sha256"]},
                "requires_python": entry.get("requires_python") or None,
                "size": entry.get("size") or 0,
                "upload_time_iso_8601": entry.get("upload_time") or None,
                "yanked": bool(entry.get("yanked")),
                "yanked_reason": entry["yanked"] if isinstance(entry.get("yanked"), str) else None,
                "packagetype": "bdist_wheel" if entry["filename"].endswith(".whl") else "sdist",
            }
        )
    if not releases:
        return None
    from packaging.version import Version

    ordered = sorted(releases, key=Version)
    chosen = version if version is not None else ordered[-1]
    if version is not None:
        matches = [v for v in ordered if Version(v) == Version(version)]
        if not matches:
            return None
        chosen = matches[0]
    info = {
        "name": page.name or page.normalized_name,
        "version": chosen,
        "summary": None,
        "upstream": upstream.describe(),
    }
    document: dict[str, Any] = {"info": info, "urls": releases[chosen]}
    if version is None:
        document["releases"] = releases
    return document
