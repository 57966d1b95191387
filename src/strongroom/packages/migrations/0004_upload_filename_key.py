"""UsedFilename.key: remember each filename as the distribution it names (issue 21, item 4).

Existing rows are keyed from their filenames. Where history already holds two spellings
of one distribution (accepted before this rule), the oldest keeps the key and the others
are kept under a key of their own, so nothing is forgotten and the rule holds from now on.
"""

from django.db import migrations, models

from strongroom.packages.filenames import filename_key


def key_existing(apps, schema_editor):
    UsedFilename = apps.get_model("packages", "UsedFilename")
    seen = set()
    for row in UsedFilename.objects.order_by("pk").iterator():
        key = filename_key(row.filename)
        if key in seen:
            key = f"duplicate:{row.pk}"
        seen.add(key)
        row.key = key
        row.save(update_fields=["key"])


class Migration(migrations.Migration):
    dependencies = [
        ("packages", "0003_upload_limit_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="usedfilename",
            name="key",
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.RunPython(key_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="usedfilename",
            name="key",
            field=models.CharField(max_length=255, unique=True),
        ),
    ]
