from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_0011_rewrites_the_search_entries_of_existing_projects():
    """Projects indexed the old way (each database splitting words itself) are found by
    the shared words once 0011 has run: "strasse" finds "Straße" (FTS5's unicode61 kept
    the ß), "creme" finds "Crème" (PostgreSQL's parser kept the accent)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from strongroom.packages import search
    from strongroom.packages.models import Project

    before = [("packages", "0010_project_total_size_limit")]
    after = [("packages", "0011_search_words")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    project = Project.objects.create(
        name="karte", normalized_name="karte", skeleton="karte", summary="Straße, Crème"
    )
    with connection.cursor() as cursor:  # what 0009's code wrote
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE packages_project SET search_vector = "
                "setweight(to_tsvector('simple', 'karte karte'), 'A') || "
                "setweight(to_tsvector('simple', %s), 'B') WHERE id = %s",
                [project.summary, project.pk],
            )
        else:
            cursor.execute(
                "INSERT INTO packages_project_fts (rowid, name, summary, keywords) "
                "VALUES (%s, 'karte karte', %s, '')",
                [project.pk, project.summary],
            )
    MigrationExecutor(connection).migrate(after)

    def found(text: str) -> list[str]:
        results = search.search_projects(None, search.SearchQuery(text=text))
        return [p.name for p in results[0:10]]

    assert found("strasse") == ["karte"]
    assert found("creme") == ["karte"]
    assert found("kart") == ["karte"]
