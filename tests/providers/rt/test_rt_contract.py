"""The shared provider contract, run against the rt adapter and a real RT 5 on loopback."""

from __future__ import annotations

import pytest

from tests.providers.rt.conftest import RtHarness
from tests.support.contract import ProviderContract

pytestmark = pytest.mark.server


class TestRtContract(ProviderContract):
    @pytest.fixture
    async def harness(self, rt, tmp_path):
        return RtHarness(rt, tmp_path / "rt-state")
