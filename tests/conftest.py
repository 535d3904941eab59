"""Fixtures shared by every test folder."""

from __future__ import annotations

import logging

import pytest

from compass_listener.store import paths


@pytest.fixture
def log_file():
    """The app's rotating log file in this test's home (set COMPASS_LISTENER_HOME first),
    detached again afterwards so later tests log normally."""
    logger = logging.getLogger("compass_listener")
    before = list(logger.handlers)
    paths.setup_logging()
    yield paths.log_file()
    for handler in logger.handlers[:]:
        if handler not in before:
            handler.close()
            logger.removeHandler(handler)
    logger.propagate = True
