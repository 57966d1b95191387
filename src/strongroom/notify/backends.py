"""The embedded email backend: every message becomes a file in the outbox folder."""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.utils import timezone

log = logging.getLogger("strongroom.notify")
_LINK = re.compile(r"https?://\S+")


class OutboxEmailBackend(BaseEmailBackend):
    """Write each message as an ``.eml`` file and log its subject and links.

    A new instance can finish sign-up with nothing else installed: the verification
    link is in the log and in ``<data-dir>/outbox/``.
    """

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.outbox = Path(settings.EMAIL_OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.outbox.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
            final = self.outbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            temporary = final.with_suffix(".tmp")
            temporary.write_bytes(message.message().as_bytes())
            os.replace(temporary, final)
            links = sorted(set(_LINK.findall(str(message.body))))
            log.info(
                "email to %s: %s%s",
                ", ".join(message.to),
                message.subject,
                "".join(f"\n    {link}" for link in links),
            )
            sent += 1
        return sent
