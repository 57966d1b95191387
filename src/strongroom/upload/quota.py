"""The total size limit of a project: all its files together (PyPI's "project size")."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Sum
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from strongroom.packages.models import File, Project
from strongroom.upload.errors import UploadError


def check_project_size(
    project: Project | None, adding: int, *, besides: File | None = None
) -> None:
    """Refuse ``adding`` more bytes to ``project`` when its files would then add up to more
    than its total size limit (its own, else STRONGROOM_PROJECT_SIZE_LIMIT).

    What the project holds is one SUM over its files (the file(project) index keeps it to
    that project's rows), not a stored running total: there is nothing to keep in step
    with every path that deletes a file, a release or the project. ``services._store`` asks again
    once it holds the index serial's lock, which every writer takes, with its own new row
    left out (``besides``): two uploads cannot both fit in the last room.
    """
    held, own_limit = 0, None
    if project is not None:
        own_limit = Project.objects.filter(pk=project.pk).values_list(
            "total_size_limit", flat=True
        )[0]
        files = File.objects.filter(project=project)
        if besides is not None:
            files = files.exclude(pk=besides.pk)
        held = int(files.aggregate(held=Sum("size"))["held"] or 0)
    limit = own_limit or settings.PROJECT_SIZE_LIMIT
    if held + adding <= limit:
        return
    raise UploadError(
        _(
            "Project size too large. The limit for project '%(project)s' total size is "
            "%(limit)s (%(limit_bytes)d bytes); its files take %(held)s (%(held_bytes)d "
            "bytes) and this one would take them to %(total_bytes)d bytes. Delete old files, "
            "or ask the index's staff to raise the limit."
        )
        % {
            "project": project.name if project is not None else "",
            "limit": filesizeformat(limit),
            "limit_bytes": limit,
            "held": filesizeformat(held),
            "held_bytes": held,
            "total_bytes": held + adding,
        }
    )
