"""The Dockerfile cannot be built here (no Docker engine on these machines), so these checks keep
it in step with the steps that do run: scripts/serve's release build and the functions of
scripts/lib/frontend.sh that scripts/serve and scripts/test execute."""
import fnmatch
import pathlib
import re
import subprocess

from browserkit import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
SERVE = (ROOT / "scripts" / "serve").read_text()
FRONTEND_SH = (ROOT / "scripts" / "lib" / "frontend.sh").read_text()


def instructions():
    """(instruction, arguments) pairs with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_stages_use_a_swift_toolchain_and_a_slim_debian_runtime():
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for i, a in instructions() if i == "ARG" and "=" in a}
    assert re.fullmatch(r"swift:6\.3[\w.-]*", args["SWIFT_IMAGE"])
    assert args["RUNTIME_IMAGE"].startswith("debian:") and args["RUNTIME_IMAGE"].endswith("-slim")
    froms = [a for i, a in instructions() if i == "FROM"]
    assert froms == ["${SWIFT_IMAGE} AS build", "${RUNTIME_IMAGE}"]


def test_release_build_is_the_one_scripts_serve_runs():
    build = "swift build -c release --product weightlens"
    assert build in SERVE
    assert any(i == "RUN" and build in a for i, a in instructions())


def test_frontend_and_staging_use_the_shared_shell_functions():
    runs = " ".join(a for i, a in instructions() if i == "RUN")
    assert "source scripts/lib/frontend.sh" in runs
    for function in ("frontend_install", "stage_release"):
        assert re.search(rf"^{function}\(\) {{", FRONTEND_SH, re.M), f"{function} is not defined in frontend.sh"
        assert function in runs, f"the Dockerfile does not call {function}"
    assert "frontend_install .frontend" in SERVE
    # The shell library parses and defines what the Dockerfile calls.
    out = subprocess.run(["bash", "-c", "source scripts/lib/frontend.sh && type frontend_install stage_release"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_runtime_has_the_libraries_and_serves_on_all_interfaces():
    runs = " ".join(a for i, a in instructions() if i == "RUN")
    for package in ("libpng16-16", "libssl3"):
        assert package in runs
    entry = next(a for i, a in instructions() if i == "ENTRYPOINT")
    assert "weightlens serve --listen 0.0.0.0" in entry
    assert "--front-end-root" in entry
    assert any(i == "VOLUME" and "/data/models" in a for i, a in instructions())


def test_copied_paths_exist_and_are_not_ignored():
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for instruction, args in instructions():
        if instruction != "COPY" or args.startswith("--from"):
            continue
        source = args.split()[0]
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), f"COPY {source} is in .dockerignore"


def test_build_context_holds_every_folder_the_package_names():
    """SwiftPM refuses to load a package whose target folders are missing, so none may be ignored."""
    ignored = [line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    manifest = (ROOT / "Package.swift").read_text()
    folders = set(re.findall(r'path:\s*"([^"]+)"', manifest)) | {"Sources", "Tests", "Package.swift", "scripts", "workflows"}
    for folder in folders:
        assert (ROOT / folder).exists(), f"{folder} named by Package.swift is not in the repository"
        parts = pathlib.PurePosixPath(folder).parts
        for pattern in ignored:
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                assert not fnmatch.fnmatch(prefix, pattern), f"{folder} is excluded from the image by .dockerignore ({pattern})"

