from __future__ import annotations

from pathlib import Path

import pytest

from samples.survey import SurveyConfig, generate

SMALL = SurveyConfig(seed=3, count=6, width=200, height=150)


@pytest.fixture(scope="session")
def small_survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny survey (6 photos, 200x150) shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("survey")
    generate(out, SMALL, log=lambda _: None)
    return out
