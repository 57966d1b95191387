"""Download counts, aggregated per file and day (written by index.counting, never per request)."""

from __future__ import annotations

from django.db import models


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
