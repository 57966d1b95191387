"""Django's PostgreSQL backend, with a deadline on every reply.

``connect_timeout`` bounds connecting and ``statement_timeout`` lets the server cancel a
slow statement, but a frozen server (stopped, or its host gone without closing the TCP
connection) never answers either: every request would wait for the whole freeze. So the
client waits at most ``REPLY_TIMEOUT`` seconds (a key of the ``DATABASES`` entry) for any
reply on an open connection, then closes that connection and raises ``OperationalError``,
which the outage handler turns into a 503 (web.outage).
"""

from __future__ import annotations

import types
from typing import Any

import psycopg
from django.db.backends.postgresql import base as django_postgresql

_WaitTimeout: type[BaseException] = getattr(psycopg.errors, "_WaitTimeout", TimeoutError)


class DeadlineConnection(psycopg.Connection[Any]):
    """A psycopg connection that gives up on a reply after ``reply_timeout`` seconds."""

    reply_timeout: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        limit = timeout if timeout is not None else self.reply_timeout
        try:
            return super().wait(gen, interval, limit)
        except _WaitTimeout:
            if timeout is not None:
                raise  # psycopg's own deadline (a cancellation): its handling applies
            # The connection is mid-statement with a server that does not answer:
            # it can never be used again.
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"the database did not reply within {limit:g} seconds"
            ) from None


class _Driver(types.ModuleType):
    """The psycopg module as Django's backend sees it, connecting with DeadlineConnection."""

    def __getattr__(self, name: str) -> Any:
        return getattr(psycopg, name)

    @staticmethod
    def connect(*args: Any, **kwargs: Any) -> DeadlineConnection:
        return DeadlineConnection.connect(*args, **kwargs)


class DatabaseWrapper(django_postgresql.DatabaseWrapper):
    Database = _Driver("psycopg")

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if isinstance(connection, DeadlineConnection):
            connection.reply_timeout = self.settings_dict.get("REPLY_TIMEOUT")
        return connection
