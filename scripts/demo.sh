#!/usr/bin/env bash
# Installs dependencies, builds hearth and runs it on the default model.
#
# Until the trained demo model ships (issue 7), the default model is a tiny random-weight Gemma 4
# 12B-unified-layout file written by `hearth make-test-model`: it exercises the whole path
# (GGUF -> tokenizer -> chat template -> decoder -> sampler) but answers gibberish.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DHEARTH_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)" --target hearth
model=${HEARTH_MODEL:-build/default-model.gguf}
if [ ! -f "$model" ]; then
  build/tools/hearth make-test-model --variant g4-12b --type q8_0 -o "$model"
fi
build/tools/hearth inspect "$model" -c 4096
build/tools/hearth run -m "$model" -p "${1:-What is in this picture?}" -n 32 --seed 1
