"""Shared fixtures for the end-to-end tests: the weightlens binary under test."""
import os
import pathlib
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def weightlens_bin():
    path = os.environ.get("WEIGHTLENS_BIN")
    if not path:
        import subprocess
        out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
        path = os.path.join(out, "weightlens")
    assert os.path.exists(path), f"weightlens binary not found at {path}; run swift build"
    return path
