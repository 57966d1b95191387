"""Search and browse (issue 18, item 1): the projects' search fields, their classifiers,
the full-text index (FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL), filled for the
projects that exist."""

import django.db.models.deletion
from django.db import migrations, models
from packaging.version import InvalidVersion, Version

import strongroom.packages.models
from strongroom.packages.search import FTS_TABLE, write_search_row


def create_index(apps, schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                "CREATE INDEX project_search_vector_idx ON packages_project "
                "USING gin (search_vector)"
            )
        else:
            cursor.execute(
                f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
                "name, summary, keywords, tokenize='unicode61 remove_diacritics 2')"
            )


def drop_index(apps, schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS project_search_vector_idx")
        else:
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def _key(release):
    try:
        return Version(release.version)
    except InvalidVersion:
        return Version("0")


def index_existing(apps, schema_editor):
    Project = apps.get_model("packages", "Project")
    ProjectClassifier = apps.get_model("packages", "ProjectClassifier")
    for project in Project.objects.iterator():
        releases = sorted(project.releases.all(), key=_key, reverse=True)
        finals = [r for r in releases if not r.yanked and not _key(r).is_prerelease]
        release = (finals or [r for r in releases if not r.yanked] or releases or [None])[0]
        project.latest_version = release.version if release else ""
        project.summary = release.summary if release else ""
        project.keywords = " ".join(str(k) for k in release.keywords) if release else ""
        project.save(update_fields=["latest_version", "summary", "keywords"])
        write_search_row(
            project.pk, project.name, project.summary, project.keywords,
            using=schema_editor.connection,
        )
        for classifier in sorted({str(c)[:255] for c in (release.classifiers if release else [])}):
            ProjectClassifier.objects.create(project=project, classifier=classifier)


class Migration(migrations.Migration):

    dependencies = [
        ('packages', '0008_project_visibility'),
    ]

    operations = [
        migrations.CreateModel(
            name='ProjectClassifier',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('classifier', models.CharField(max_length=255)),
            ],
        ),
        migrations.AddField(
            model_name='project',
            name='keywords',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='project',
            name='latest_version',
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name='project',
            name='search_vector',
            field=strongroom.packages.models.SearchVectorColumn(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='project',
            name='summary',
            field=models.CharField(blank=True, max_length=512),
        ),
        migrations.AddIndex(
            model_name='project',
            index=models.Index(fields=['-created'], name='project_created_idx'),
        ),
        migrations.AddIndex(
            model_name='project',
            index=models.Index(fields=['-last_changed'], name='project_last_changed_idx'),
        ),
        migrations.AddField(
            model_name='projectclassifier',
            name='project',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='classifier_rows', to='packages.project'),
        ),
        migrations.AddIndex(
            model_name='projectclassifier',
            index=models.Index(fields=['classifier', 'project'], name='classifier_project_idx'),
        ),
        migrations.AddConstraint(
            model_name='projectclassifier',
            constraint=models.UniqueConstraint(fields=('project', 'classifier'), name='unique_project_classifier'),
        ),
        migrations.RunPython(create_index, drop_index),
        migrations.RunPython(index_existing, migrations.RunPython.noop),
    ]
