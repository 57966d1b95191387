"""github.com, gitlab.com and Google are trusted by default (staff may disable them).

Their keys are fetched on first use, never at migration time."""

from django.db import migrations

DEFAULT_ISSUERS = [
    ("https://token.actions.githubusercontent.com", "github"),
    ("https://gitlab.com", "gitlab"),
    ("https://accounts.google.com", "google"),
]


def add_defaults(apps, schema_editor):  # type: ignore[no-untyped-def]
    Issuer = apps.get_model("publishing", "Issuer")
    for url, kind in DEFAULT_ISSUERS:
        Issuer.objects.get_or_create(url=url, defaults={"kind": kind})


class Migration(migrations.Migration):
    dependencies = [("publishing", "0001_trusted_publishing")]
    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
