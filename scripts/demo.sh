#!/usr/bin/env bash
# Installs dependencies, builds hearth and runs it on the shipped demo model: a tiny Gemma 4
# (12B unified architecture) trained here to answer simple questions about pictures of shapes,
# spoken numbers and words, and short texts (models/hearth-demo.gguf + its projector
# models/mmproj-hearth-demo.gguf; tools/demo-model/README.md says how it was made).
#
#   bash scripts/demo.sh                      # the example questions below
#   bash scripts/demo.sh "What is 4 plus 9?"  # your own question (text)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DHEARTH_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)" --target hearth
hearth=build/tools/hearth
examples=tools/demo-model/examples
ask() {  # ask QUESTION [hearth run options...]
  local q=$1
  shift
  printf '\n> %s %s\n' "$*" "$q"
  "$hearth" run "$@" -p "$q" --temp 0 2>/dev/null
}
if [ $# -gt 0 ]; then
  ask "$*"
  exit 0
fi
"$hearth" inspect models/hearth-demo.gguf
ask "What is in this picture?" --image "$examples/shapes.png"
ask "How many shapes are there?" --image "$examples/shapes.png"
ask "What colour is the star?" --image "$examples/star.png"
ask "What number did I say?" --audio "$examples/seven.wav"
ask "What is in the picture, and what did I say?" --image "$examples/star.png" --audio "$examples/circle.wav"
ask "What is 7 plus 5?"
printf '\nMore: %s chat (type /image FILE or /audio FILE), or %s serve and open http://127.0.0.1:8080\n' "$hearth" "$hearth"
