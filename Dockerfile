# WeightLens: the ComfyUI-compatible server with the official web frontend.
#
#   docker build -t weightlens .
#   docker run --rm -p 8188:8188 -v "$PWD/models:/data/models" weightlens
#   open http://127.0.0.1:8188
#
# No Docker engine runs on the project's development and CI machines, so this file is not built
# there. Its steps are kept identical to the ones those machines do run: the release build is
# scripts/serve's `swift build -c release --product weightlens`, and the frontend install and the
# staging of the binary with its resource bundles are the functions of scripts/lib/frontend.sh
# that scripts/serve and the browser tests in scripts/test call (frontend_install, stage_release).
# Tests/browser/test_dockerfile.py checks that this file keeps using them.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build: Swift 6.3 toolchain, C headers, pip for the frontend package ----
FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpng-dev libssl-dev zlib1g-dev pkg-config python3 python3-pip \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole context (.dockerignore drops build folders and local installs): SwiftPM checks the
# folder of every target in Package.swift (tests and benchmarks included) when it loads the package.
COPY . ./
# As scripts/serve builds, plus a static Swift runtime: the slim image has no toolchain.
# No CPU flags: the binary carries every kernel path of its architecture and picks the best one
# for the CPU the container runs on (docs/ENGINE.md, "Kernel dispatch").
RUN swift build -c release --product weightlens --static-swift-stdlib
RUN bash -c 'set -euo pipefail; source scripts/lib/frontend.sh; \
        stage_release "$(swift build -c release --show-bin-path)" /opt/weightlens; \
        frontend_install /opt/weightlens/frontend > /opt/weightlens/frontend-root; \
        cp -R workflows /opt/weightlens/workflows'

# ---- runtime: slim Debian with the two C libraries the binary links ----
FROM ${RUNTIME_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpng16-16 libssl3 zlib1g ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /data weightlens
# The binary and its *.resources bundles (viewer, web extension) sit side by side, as staged.
COPY --from=build /opt/weightlens /opt/weightlens
USER weightlens
WORKDIR /data
# Created as the server's user, so an unmounted volume is writable for the demo checkpoint.
RUN mkdir -p /data/models/checkpoints
# ComfyUI's layout below /data: models/checkpoints (mount your models here), output, temp, input, user.
VOLUME ["/data/models"]
EXPOSE 8188
ENTRYPOINT ["/bin/sh", "-c", "exec /opt/weightlens/weightlens serve --listen 0.0.0.0 --port 8188 --base-directory /data --workflows-directory /opt/weightlens/workflows --front-end-root \"$(cat /opt/weightlens/frontend-root)\" \"$@\"", "weightlens"]
