"""Project.skeleton and ConfusableNameAllowance (issue 21, item 5): skeletons of the
projects that exist are computed here; look-alikes already side by side stay."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from strongroom.packages.names import confusable_skeleton


def skeleton_existing(apps, schema_editor):
    Project = apps.get_model("packages", "Project")
    for project in Project.objects.only("pk", "name").iterator():
        Project.objects.filter(pk=project.pk).update(skeleton=confusable_skeleton(project.name))


class Migration(migrations.Migration):
    dependencies = [
        ("packages", "0004_upload_filename_key"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="skeleton",
            field=models.CharField(db_index=True, default="", max_length=200),
        ),
        migrations.RunPython(skeleton_existing, migrations.RunPython.noop),
        migrations.CreateModel(
            name="ConfusableNameAllowance",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("normalized_name", models.CharField(max_length=200, unique=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
                (
                    "allowed_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
