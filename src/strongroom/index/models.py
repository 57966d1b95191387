"""The read path's own tables: simple-API pages rendered at write time (a read is one
indexed row lookup), and download counts aggregated per file and day (written by
index.counting, never per request)."""

from __future__ import annotations

from django.db import models

from strongroom.packages.models import Project


class SimplePage(models.Model):
    """A project's ``/simple/<name>/`` page in both formats (each also compressed), as of
    ``serial``.

    Written in the same transaction as the change that bumped the project's serial, so
    a reader sees either the old project and the old page or the new ones. The read path
    serves a row only when ``serial`` equals the project's ``last_serial``; otherwise it
    renders the page again. The row goes with its project (cascade).
    """

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    serial = models.BigIntegerField()
    # The project's last change as an HTTP date, ready for Last-Modified.
    last_modified = models.CharField(max_length=40)
    html = models.BinaryField()
    json = models.BinaryField()
    # The same pages compressed at write time (index.encoding); empty in rows written
    # before compression was stored, which are then served uncompressed.
    html_gzip = models.BinaryField(default=b"")
    html_zstd = models.BinaryField(default=b"")
    json_gzip = models.BinaryField(default=b"")
    json_zstd = models.BinaryField(default=b"")
    # Whether ``/simple/`` lists the project as of this page (public, not quarantined):
    # a change that flips it is one the stored root (SimpleIndex) must be rendered for.
    listed = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"simple page of project {self.project_id} at serial {self.serial}"


class SimpleIndex(models.Model):
    """``/simple/`` as anonymous readers see it (public, unquarantined projects), in both
    formats and compressed, rendered as of index serial ``serial`` (index.root).

    One row (id 1). Rendered after the commit of a change to the listing, off the request
    path; readers serve the row they find meanwhile. An upload to a listed project does
    not change the listing, so it does not render this again."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    serial = models.BigIntegerField()
    last_modified = models.CharField(max_length=40)
    html = models.BinaryField()
    json = models.BinaryField()
    html_gzip = models.BinaryField()
    html_zstd = models.BinaryField()
    json_gzip = models.BinaryField()
    json_zstd = models.BinaryField()

    def __str__(self) -> str:
        return f"simple index at serial {self.serial}"


class IndexListing(models.Model):
    """The index serial of the last change to what ``/simple/`` lists (id 1), written in
    the transaction of that change: a stored root older than it is stale and is rendered
    again (index.root), whoever made the change and whether or not its process lived to
    render it."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    changed_serial = models.BigIntegerField()
    # When (Unix time): a reader's process steps in only after the writer's had its turn.
    changed_at = models.FloatField()

    def __str__(self) -> str:
        return f"simple index listing changed at serial {self.changed_serial}"


class DownloadCount(models.Model):
    project = models.ForeignKey(
        "packages.Project", on_delete=models.CASCADE, related_name="download_counts"
    )
    # The filename rather than the File: counts outlive a deleted file.
    filename = models.CharField(max_length=255)
    day = models.DateField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["filename", "day"], name="unique_download_day")
        ]
        indexes = [models.Index(fields=["day", "project"])]

    def __str__(self) -> str:
        return f"{self.filename} {self.day}: {self.count}"
