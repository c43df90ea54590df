"""Shared fixtures for the end-to-end tests: the weightlens binary under test."""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "pysupport"))
from weightlens_binary import weightlens_binary  # noqa: E402


@pytest.fixture(scope="session")
def weightlens_bin():
    return weightlens_binary()
