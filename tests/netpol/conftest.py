"""Every test here is marked `netpol`: it needs cyclonus (built by testbed/cyclonus.sh)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.netpol.diff import cyclonus_binary


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/netpol" in str(item.path):
            item.add_marker(pytest.mark.netpol)


@pytest.fixture(scope="session")
def cyclonus() -> Path:
    return cyclonus_binary()
