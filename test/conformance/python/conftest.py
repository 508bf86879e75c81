"""Fixtures shared by the conformance tests.

test/conformance/run.sh starts the emulator and passes its address and
credentials through the environment:

    SEABRIDGE_EMULATOR_HOST, SEABRIDGE_EMULATOR_PORT,
    SEABRIDGE_EMULATOR_CLIENT_ID, SEABRIDGE_EMULATOR_CLIENT_SECRET
"""
import os
import uuid

import pytest

ENV = (
    "SEABRIDGE_EMULATOR_HOST",
    "SEABRIDGE_EMULATOR_PORT",
    "SEABRIDGE_EMULATOR_CLIENT_ID",
    "SEABRIDGE_EMULATOR_CLIENT_SECRET",
)


@pytest.fixture(scope="session")
def server():
    """Connection arguments in the form every stream_sea_client call takes."""
    missing = [name for name in ENV if not os.environ.get(name)]
    if missing:
        pytest.skip("not set: %s (run test/conformance/run.sh)" % ", ".join(missing))
    return dict(
        remote_host=os.environ["SEABRIDGE_EMULATOR_HOST"],
        remote_port=int(os.environ["SEABRIDGE_EMULATOR_PORT"]),
        secure=False,
        client_id=os.environ["SEABRIDGE_EMULATOR_CLIENT_ID"],
        client_secret=os.environ["SEABRIDGE_EMULATOR_CLIENT_SECRET"],
    )


@pytest.fixture
def stream():
    """A stream name no other test (or earlier run on the same server) uses."""
    return "conformance" + uuid.uuid4().hex[:12]
