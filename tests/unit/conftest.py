"""Unit tests never see the developer's kubeconfig: HOME is an empty folder, KUBECONFIG unset.

Property tests run ~100 examples each (profile "ci"); `make fuzz` selects the "fuzz" profile.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
# The CLI helper's asserts must check under `python -O` too (`make unit-O`): pytest rewrites
# only test modules, conftests and the modules registered here.
pytest.register_assert_rewrite("tests.unit.runner", "tests.unit.builders")

settings.register_profile("ci", max_examples=100, deadline=None, suppress_health_check=_QUIET)
settings.register_profile("fuzz", max_examples=5000, deadline=None, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _no_user_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
