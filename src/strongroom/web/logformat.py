"""The application log as one JSON object per line (``STRONGROOM_LOG_FORMAT=json``).

Each record becomes ``{"time", "level", "logger", "message", "request_id", "pid"}``, plus
``exception`` (the formatted traceback) when there is one. ``json.dumps`` escapes every
control character, so a message holding a newline stays on its line.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from typing import Any


class JsonFormatter(logging.Formatter):
    """A ``logging.Formatter`` writing a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created).astimezone().isoformat(),
            "log": "app",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "pid": os.getpid(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING: the ``strongroom`` loggers at ``level`` and ``django.request``'s
    errors on stderr, as ``text`` or ``json`` lines, each with the request id."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
            "json": {"()": "strongroom.web.logformat.JsonFormatter"},
        },
        "filters": {
            "outage": {"()": "strongroom.web.outage.OutageLogFilter"},
            "request_id": {"()": "strongroom.web.requestid.RequestIdFilter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "strongroom": {"handlers": ["console"], "level": level},
            # Outages get one line from strongroom.outage instead of a traceback per request.
            "django.request": {
                "handlers": ["console"],
                "level": "ERROR",
                "filters": ["outage"],
                "propagate": False,
            },
        },
    }
