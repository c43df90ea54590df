# The official ComfyUI web frontend, pinned, installed from the Python package index into a
# folder of the project's own. Shared by scripts/serve, the browser tests in scripts/test and
# the Dockerfile, so that CI runs the same install steps a user and the image run.
#
# Functions print progress on stderr and the static folder on stdout, so callers can write
#   root="$(frontend_install .frontend)"

# Version known to work with ComfyUI's API as WeightLens implements it (docs/FRONTEND.md).
WEIGHTLENS_FRONTEND_VERSION="${WEIGHTLENS_FRONTEND_VERSION:-1.58.1}"

# Static folder of an installed frontend below DIR (the package keeps its built files in static/).
frontend_static_dir() {
    echo "$1/comfyui-frontend-package-$WEIGHTLENS_FRONTEND_VERSION/comfyui_frontend_package/static"
}

# A pip that can install into a plain folder: the interpreter's own, else the project's .venv.
frontend_pip() {
    local py
    for py in python3 .venv/bin/python; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -m pip --version >/dev/null 2>&1; then
            echo "$py"
            return 0
        fi
    done
    return 1
}

# Installs the pinned frontend under DIR once; later calls only print its static folder.
# The package is installed into a temporary folder and renamed into place, so an interrupted
# download never leaves a half-installed frontend that the next run would serve.
frontend_install() {
    local dir="$1"
    local static
    static="$(frontend_static_dir "$dir")"
    if [ -f "$static/index.html" ]; then
        echo "$static"
        return 0
    fi
    local py
    if ! py="$(frontend_pip)"; then
        echo "frontend: no pip found (python3 -m pip); cannot install comfyui-frontend-package" >&2
        return 1
    fi
    local final="$dir/comfyui-frontend-package-$WEIGHTLENS_FRONTEND_VERSION"
    local tmp="$final.partial.$$"
    mkdir -p "$dir"
    rm -rf "$tmp"
    echo "frontend: installing comfyui-frontend-package==$WEIGHTLENS_FRONTEND_VERSION into $final" >&2
    # --target keeps it out of every interpreter's site-packages; --no-deps because the package
    # is only static files and a version marker.
    if ! "$py" -m pip install --disable-pip-version-check --root-user-action=ignore --no-input -q --no-deps \
            --target "$tmp" "comfyui-frontend-package==$WEIGHTLENS_FRONTEND_VERSION" >&2; then
        rm -rf "$tmp"
        echo "frontend: pip could not install comfyui-frontend-package==$WEIGHTLENS_FRONTEND_VERSION" >&2
        return 1
    fi
    if [ ! -f "$tmp/comfyui_frontend_package/static/index.html" ]; then
        rm -rf "$tmp"
        echo "frontend: the package has no static/index.html; not a frontend build" >&2
        return 1
    fi
    rm -rf "$final"
    mv "$tmp" "$final"
    echo "$static"
}

# Copies a built weightlens binary and the resource bundles SwiftPM writes beside it
# (<Package>_<Target>.resources: the viewer page, the web extension, node catalogue data)
# into DEST, the layout the Docker image uses. The binary finds its bundles next to itself.
stage_release() {
    local bin_dir="$1" dest="$2"
    mkdir -p "$dest"
    cp "$bin_dir/weightlens" "$dest/"
    local bundle
    for bundle in "$bin_dir"/*.resources; do
        [ -e "$bundle" ] || continue
        rm -rf "$dest/$(basename "$bundle")"
        cp -R "$bundle" "$dest/"
    done
}
