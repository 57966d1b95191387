"""Build simple-API and JSON-API documents from a handful of flat queries."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.utils.html import escape

from strongroom.packages.models import File, Project, Release
from strongroom.packages.services import sort_releases
from strongroom.storage import get_storage
from strongroom.web.http import absolute_url

# 1.3: PEP 740 provenance (``provenance`` / ``data-provenance``); 1.4: PEP 792 project
# status markers (the fields of 1.2 and 1.3 are optional).
API_VERSION = "1.4"
_FILE_FIELDS = (
    "filename",
    "path",
    "packagetype",
    "python_version",
    "sha256_digest",
    "md5_digest",
    "blake2_256_digest",
    "requires_python",
    "size",
    "upload_time",
    "metadata_sha256",
    "release__version",
    "release__yanked",
    "release__yanked_reason",
    "provenance__id",  # publishing.FileProvenance: the file has verified attestations
)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def project_files(project: Project) -> list[dict[str, Any]]:
    """All of a project's files as plain dicts, in one query."""
    return list(File.objects.filter(project=project).values(*_FILE_FIELDS).order_by("filename"))


def many_projects_files(project_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """project_files() for several projects, in one query."""
    grouped: dict[int, list[dict[str, Any]]] = {pid: [] for pid in project_ids}
    rows = (
        File.objects.filter(project_id__in=project_ids)
        .values("project_id", *_FILE_FIELDS)
        .order_by("filename")
    )
    for row in rows:
        grouped[row.pop("project_id")].append(row)
    return grouped


def project_versions(project: Project) -> list[str]:
    releases = Release.objects.filter(project=project).only("version")
    return [release.version for release in reversed(sort_releases(releases))]


def order_versions(versions: list[str]) -> list[str]:
    """``versions`` in the order project_versions() gives (oldest first)."""
    releases = [Release(version=version) for version in versions]
    return [release.version for release in reversed(sort_releases(releases))]


# PEP 503 pages are for installers, but people open them too: a language, a viewport and a
# main landmark make them accessible (and a phone shows them at its own width).
_HEAD = (
    '<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta charset="utf-8">\n'
    '    <meta name="viewport" content="width=device-width, initial-scale=1">\n'
    f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
)


def simple_index_links(names: list[tuple[str, str]]) -> str:
    """The root's links to ``names`` (name, normalised name), one a line."""
    return "\n".join(
        f'    <a href="/simple/{escape(normalized)}/">{escape(name)}</a><br>'
        for name, normalized in names
    )


def simple_index_html(names: list[tuple[str, str]]) -> str:
    return simple_index_html_around(simple_index_links(names))


def simple_index_html_around(links: str) -> str:
    """The root's HTML document around ``links`` (simple_index_links' text, which the
    database renders too: index.root_sql)."""
    return (
        f"{_HEAD}    <title>Simple index</title>\n  </head>\n  <body>\n  <main>\n"
        f"    <h1>Simple index</h1>\n{links}\n  </main>\n  </body>\n</html>\n"
    )


def simple_index_json(names: list[tuple[str, str]], serial: int) -> str:
    return json.dumps(
        {
            "meta": {"api-version": API_VERSION, "_last-serial": serial},
            "projects": [{"name": name} for name, _normalized in names],
        }
    )


def simple_index_json_ends(serial: int) -> tuple[str, str]:
    """What simple_index_json() puts before and after the projects' entries (json.dumps'
    ``{"name": ...}`` objects joined by ``", "``), for a root whose entries come from
    elsewhere (the database: index.root_sql)."""
    empty = simple_index_json([], serial)
    assert empty.endswith("[]}")
    return empty[:-2], empty[-2:]


def _url(file: dict[str, Any]) -> str:
    return get_storage().url(file["path"])


def _status_meta(project: Project) -> str:
    """PEP 792's meta tags; nothing for an active project (active is the default)."""
    if project.status == Project.Status.ACTIVE:
        return ""
    tags = f'    <meta name="pypi:project-status" content="{escape(project.status)}">\n'
    if project.status_reason:
        reason = escape(project.status_reason)
        tags += f'    <meta name="pypi:project-status-reason" content="{reason}">\n'
    return tags


def offered_files(project: Project, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The files the simple pages list: none for a quarantined project (PEP 792)."""
    return [] if project.status == Project.Status.QUARANTINED else files


def provenance_url(project: Project, file: dict[str, Any]) -> str | None:
    """PEP 740: the Integrity API URL of the file's provenance, if it has one."""
    if not file.get("provenance__id"):
        return None
    path = f"/integrity/{project.normalized_name}/{file['release__version']}/{file['filename']}"
    return absolute_url(quote(path) + "/provenance")


def simple_project_html(project: Project, files: list[dict[str, Any]]) -> str:
    rows = []
    for file in files:
        attributes = [f'href="{escape(_url(file))}#sha256={file["sha256_digest"]}"']
        if file["requires_python"]:
            attributes.append(f'data-requires-python="{escape(file["requires_python"])}"')
        if file["release__yanked"]:
            attributes.append(f'data-yanked="{escape(file["release__yanked_reason"])}"')
        if file["metadata_sha256"]:
            value = f"sha256={file['metadata_sha256']}"
            attributes.append(f'data-dist-info-metadata="{value}"')
            attributes.append(f'data-core-metadata="{value}"')
        provenance = provenance_url(project, file)
        if provenance:
            attributes.append(f'data-provenance="{escape(provenance)}"')
        rows.append(f"    <a {' '.join(attributes)}>{escape(file['filename'])}</a><br>")
    name = escape(project.name)
    return (
        _HEAD
        + _status_meta(project)
        + f"    <title>Links for {name}</title>\n  </head>\n  <body>\n  <main>\n"
        f"    <h1>Links for {name}</h1>\n" + "\n".join(rows) + "\n  </main>\n  </body>\n</html>\n"
    )


def simple_project_json(project: Project, files: list[dict[str, Any]], versions: list[str]) -> str:
    entries = []
    for file in files:
        metadata: dict[str, str] | bool = (
            {"sha256": file["metadata_sha256"]} if file["metadata_sha256"] else False
        )
        yanked: str | bool = False
        if file["release__yanked"]:
            yanked = file["release__yanked_reason"] or True
        entries.append(
            {
                "filename": file["filename"],
                "url": _url(file),
                "hashes": {"sha256": file["sha256_digest"]},
                "requires-python": file["requires_python"] or None,
                "size": file["size"],
                "upload-time": iso(file["upload_time"]),
                "yanked": yanked,
                "core-metadata": metadata,
                "dist-info-metadata": metadata,
                "provenance": provenance_url(project, file),
            }
        )
    document: dict[str, Any] = {
        "meta": {"api-version": API_VERSION, "_last-serial": project.last_serial},
        "name": project.normalized_name,
        "versions": versions,
        "files": entries,
    }
    if project.status != Project.Status.ACTIVE:
        status = {"status": project.status}
        if project.status_reason:
            status["reason"] = project.status_reason
        document["project-status"] = status
    return json.dumps(document)
