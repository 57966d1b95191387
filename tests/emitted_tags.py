"""A pytest plugin: every audit tag must be emitted by some test in a full run.

Each process (the xdist workers, or the single process without xdist) records the tag of
every Event saved in-process and writes them to a file in a directory that the controller
created (passed to workers through the environment). At the end the controller merges the
files and, when the whole suite ran, fails the session naming each tag that no test
emitted. Adding a tag to EventTag therefore needs a test that records it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ENV = "AUDIT_TEST_EMITTED_TAGS_DIR"
_seen: set[str] = set()


def _record(sender: object, instance: object, created: bool, **kwargs: object) -> None:
    if created:
        _seen.add(str(instance.tag))  # type: ignore[attr-defined]


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if not _is_worker(config):
        os.environ[ENV] = tempfile.mkdtemp(prefix="strongroom-emitted-tags-")


@pytest.fixture(scope="session", autouse=True)
def _collect_emitted_tags():  # type: ignore[no-untyped-def]
    from django.db.models.signals import post_save

    from strongroom.events.models import Event

    post_save.connect(_record, sender=Event, dispatch_uid="emitted-tags")
    yield
    post_save.disconnect(sender=Event, dispatch_uid="emitted-tags")


def _full_run(session: pytest.Session) -> bool:
    config = session.config
    if config.option.keyword or config.option.markexpr or config.getoption("deselect", None):
        return False
    root = Path(str(config.rootpath)).resolve()
    tests = root / "tests"
    args = [Path(a.split("::")[0]).resolve() for a in config.args] or [tests]
    return all(a in (root, tests) for a in args)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    directory = os.environ.get(ENV)
    if not directory:
        return
    name = os.environ.get("PYTEST_XDIST_WORKER", "main")
    Path(directory, f"{name}.txt").write_text("\n".join(sorted(_seen)))
    if _is_worker(session.config) or not _full_run(session):
        return
    emitted: set[str] = set()
    for path in Path(directory).glob("*.txt"):
        emitted.update(line for line in path.read_text().splitlines() if line)
    from strongroom.events.tags import EventTag

    missing = sorted(tag.value for tag in EventTag if tag.value not in emitted)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if missing:
        message = "audit tags that no test emitted: " + ", ".join(missing)
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None:
        reporter.write_line(f"every audit tag was emitted by some test ({len(emitted)} seen)")
