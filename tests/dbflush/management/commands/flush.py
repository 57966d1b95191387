"""``flush`` for the test run: on PostgreSQL, empty the tables with DELETE.

Every transactional test (``django_db(transaction=True)``) ends with Django's ``flush``,
which on PostgreSQL is one ``TRUNCATE`` of every table. TRUNCATE gives each table new
files, which costs about 3 ms a table whatever it holds: 150 ms for this schema, while
DELETE of the few rows a test leaves takes 2 ms in all. The tables end up as empty either
way. Sequences are not reset (as TRUNCATE without RESTART IDENTITY, what the test cases
ask for), and the post_migrate signal is sent as Django's command sends it.

The content types and permissions are kept: post_migrate writes them back, every one of
them, after each flush (another 100 ms), and neither Strongroom nor a test adds rows of
its own to them; the signal still adds any that are missing. Every other database, and a
flush that resets sequences, goes to Django's command.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections, transaction

# What post_migrate puts back, row for row, after a flush.
_REPOPULATED = {"django_content_type", "auth_permission"}


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options["database"]
        connection = connections[database]
        if (
            connection.vendor != "postgresql"
            or options["reset_sequences"]
            or options["interactive"]
        ):
            super().handle(**options)
            return
        tables = connection.introspection.django_table_names(
            only_existing=True, include_views=False
        )
        with transaction.atomic(using=database), connection.cursor() as cursor:
            # Django's foreign keys are deferrable: checked at the commit, when every
            # table is empty, so the order of the deletes does not matter.
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for table in sorted(set(tables) - _REPOPULATED):
                # Table names from the schema, quoted: no outside input.
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")  # noqa: S608
        if not options["inhibit_post_migrate"]:
            emit_post_migrate_signal(options["verbosity"], options["interactive"], database)
