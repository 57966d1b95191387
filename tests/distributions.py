"""Build small wheels and sdists in memory, and the twine form that uploads them."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from strongroom.accounts.actors import Actor
from tests.factories import PASSWORD


def metadata_text(name: str, version: str, **fields: str) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"{key.replace('_', '-').title()}: {value}" for key, value in fields.items()]
    return "\n".join(lines) + "\n\nA description.\n"


def make_wheel(
    name: str = "sample",
    version: str = "1.0",
    *,
    metadata: str | None = None,
    members: dict[str, bytes] | None = None,
    dist_info: str | None = None,
) -> bytes:
    dist_info = dist_info or f"{name.replace('-', '_')}-{version}.dist-info"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name.replace('-', '_')}/__init__.py", b"VALUE = 1\n")
        if metadata is not False:  # type: ignore[comparison-overlap]
            archive.writestr(f"{dist_info}/METADATA", metadata or metadata_text(name, version))
        archive.writestr(f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        for member, data in (members or {}).items():
            archive.writestr(member, data)
    return buffer.getvalue()


def make_sdist(
    name: str = "sample", version: str = "1.0", *, members: dict[str, bytes] | None = None
) -> bytes:
    buffer = io.BytesIO()
    base = f"{name.replace('-', '_')}-{version}"
    files = {f"{base}/PKG-INFO": metadata_text(name, version).encode(), f"{base}/setup.py": b""}
    files.update(members or {})
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def wheel_filename(name: str = "sample", version: str = "1.0") -> str:
    return f"{name.replace('-', '_')}-{version}-py3-none-any.whl"


def sdist_filename(name: str = "sample", version: str = "1.0") -> str:
    return f"{name.replace('-', '_')}-{version}.tar.gz"


def upload_form(
    content: bytes | None = None,
    filename: str | None = None,
    *,
    name: str = "sample",
    version: str = "1.0",
    filetype: str = "bdist_wheel",
    **overrides: Any,
) -> dict[str, Any]:
    """The fields twine sends; ``overrides`` replace (or, with None, drop) any of them."""
    if content is None:
        content = (
            make_wheel(name, version) if filetype == "bdist_wheel" else make_sdist(name, version)
        )
    if filename is None:
        filename = (
            wheel_filename(name, version)
            if filetype == "bdist_wheel"
            else sdist_filename(name, version)
        )
    form: dict[str, Any] = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": name,
        "version": version,
        "filetype": filetype,
        "pyversion": "py3" if filetype == "bdist_wheel" else "source",
        "summary": "A sample package",
        "description": "# Sample\n\nHello.",
        "description_content_type": "text/markdown",
        "requires_python": ">=3.8",
        "classifiers": ["Programming Language :: Python :: 3"],
        "sha256_digest": hashlib.sha256(content).hexdigest(),
        "md5_digest": hashlib.md5(content).hexdigest(),  # noqa: S324
        "blake2_256_digest": hashlib.blake2b(content, digest_size=32).hexdigest(),
        "content": SimpleUploadedFile(filename, content, "application/octet-stream"),
    }
    for key, value in overrides.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return form


def basic_auth(username: str, password: str = PASSWORD) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return f"Basic {token}"


def upload_token(username: str) -> str:
    """A fresh account-wide API token for ``username``: uploads use tokens by default."""
    import uuid

    from strongroom.accounts.models import User
    from strongroom.tokens.services import create_token

    user = User.objects.get(username=username)
    _token, raw = create_token(
        Actor.of(user), name=f"test-{uuid.uuid4().hex[:8]}", project_names=None, expires_at=None
    )
    return raw


def post_upload(client: Any, form: dict[str, Any], username: str = "alice", **extra: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": basic_auth("__token__", upload_token(username))}
    headers.update(extra)
    return client.post("/legacy/", form, **headers)
