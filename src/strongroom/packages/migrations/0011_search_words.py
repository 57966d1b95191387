"""Search words from one tokenizer (issue 18): both databases now index what
``packages.search.search_words`` makes of a project, so every project's full-text entry is
rewritten. SQLite's FTS5 table is rebuilt with the ``ascii`` tokenizer (it only splits the
stored words at their spaces); PostgreSQL's GIN index stops buffering writes in a pending
list (``fastupdate``), which every search had to scan in full until the next vacuum."""

from django.db import migrations

from strongroom.packages.search import FTS_TABLE, write_search_rows

GIN_INDEX = "project_search_vector_idx"


def _recreate_fts(cursor, tokenizer):
    cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    cursor.execute(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
        f"name, summary, keywords, tokenize='{tokenizer}')"
    )


def _reindex(apps, connection):
    Project = apps.get_model("packages", "Project")
    rows = Project.objects.using(connection.alias).values_list(
        "id", "name", "summary", "keywords"
    )
    write_search_rows(rows.order_by("id").iterator(chunk_size=2000), using=connection)


def forwards(apps, schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(f"ALTER INDEX {GIN_INDEX} SET (fastupdate = off)")
        else:
            _recreate_fts(cursor, "ascii")
    _reindex(apps, conn)
    if conn.vendor == "postgresql":
        with conn.cursor() as cursor:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [GIN_INDEX])


def backwards(apps, schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(f"ALTER INDEX {GIN_INDEX} SET (fastupdate = on)")
            return
        _recreate_fts(cursor, "unicode61 remove_diacritics 2")
    _reindex(apps, conn)


class Migration(migrations.Migration):
    dependencies = [
        ("packages", "0010_project_total_size_limit"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
