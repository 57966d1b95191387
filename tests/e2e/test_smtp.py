"""Email leaves through SMTP when STRONGROOM_SMTP_HOST is set: a real local SMTP sink."""

from __future__ import annotations

import email
import email.policy
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.server import cli_env, free_port, run_cli

pytestmark = pytest.mark.e2e


class Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 OK"


def test_verification_email_is_delivered_over_smtp(tmp_path: Path) -> None:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = cli_env(
            STRONGROOM_SMTP_HOST="127.0.0.1",
            STRONGROOM_SMTP_PORT=str(port),
            STRONGROOM_BASE_URL="https://index.example",
        )
        result = run_cli(
            "user", "create", "--username", "mailed", "--email", "mailed@example.org",
            "--password-stdin", data_dir=tmp_path / "data", stdin="a-long-unusual-pass-97\n",
            env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        deadline = time.monotonic() + 10
        while not sink.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        controller.stop()
    assert len(sink.messages) == 1
    message = sink.messages[0]
    assert message["To"] == "mailed@example.org"
    assert "Verify your email address" in message["Subject"]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "https://index.example/account/verify-email/?token=" in text
    assert message.get_body(("html",)) is not None
    # Nothing went to the outbox folder: SMTP replaced it.
    assert not list((tmp_path / "data" / "outbox").glob("*.eml"))
