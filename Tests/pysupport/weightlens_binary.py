"""Where the weightlens binary under test is: $WEIGHTLENS_BIN, else the debug build's."""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def weightlens_binary():
    path = os.environ.get("WEIGHTLENS_BIN")
    if not path:
        out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
        path = os.path.join(out, "weightlens")
    assert os.path.exists(path), f"weightlens binary not found at {path}; run swift build"
    return path
