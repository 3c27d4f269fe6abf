"""The shared provider contract, run against the Matrix adapter and a real Synapse on loopback."""

from __future__ import annotations

import pytest

from tests.support.contract import ProviderContract
from tests.support.servers.synapse import MatrixHarness, synapse  # noqa: F401

pytestmark = pytest.mark.server


class TestMatrixContract(ProviderContract):
    @pytest.fixture
    async def harness(self, synapse, tmp_path):  # noqa: F811
        return await MatrixHarness(synapse, tmp_path / "matrix-state").start()
