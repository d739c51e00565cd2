#!/usr/bin/env bash
# Prepares the real llama.cpp server for the tests and prints the variables that point at it:
#
#   eval "$(tests/llama/prepare.sh BUILD_DIR)"   → AMI_LLAMA_SERVER, AMI_LLAMA_BACKEND,
#                                                  AMI_LLAMA_MODEL
#
# Debian sid's llama.cpp-tools (llama-server) and python3-gguf are unpacked under
# BUILD_DIR/debian/sid by scripts/debian-fetch.sh (with sid's Neovim: one prefix, one
# download); the tiny model is written once into BUILD_DIR/llama/tiny.gguf by make_model.py,
# with only sid's gguf package on PYTHONPATH and Debian 12's own Python and numpy (sid's numpy
# is built for a newer Python).  Exits 3 with one line on stderr when this cannot work here.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
prefix=$build/debian/sid
scripts/debian-fetch.sh sid "$prefix" neovim llama.cpp-tools python3-gguf >/dev/null
prefix=$(cd "$prefix" && pwd)
server=$prefix/usr/bin/llama-server
backend=$prefix/usr/lib/x86_64-linux-gnu/ggml/backends0/libggml-cpu-x64.so
[ -x "$server" ] || { echo "llama: $server is missing after unpacking" >&2; exit 3; }
[ -f "$backend" ] || { echo "llama: the CPU backend $backend is missing" >&2; exit 3; }
model=$PWD/$build/llama/tiny.gguf
if [ ! -s "$model" ] || [ tests/llama/make_model.py -nt "$model" ]; then
  [ -x /usr/bin/python3 ] || { echo "llama: /usr/bin/python3 (Debian's) is needed to write the model" >&2; exit 3; }
  /usr/bin/python3 -c 'import numpy' 2>/dev/null ||
    { echo "llama: Debian's python3-numpy is needed to write the model (scripts/deps.sh test)" >&2; exit 3; }
  mkdir -p "$build/llama/pylib"
  ln -sfn "$prefix/usr/lib/python3/dist-packages/gguf" "$build/llama/pylib/gguf"
  PYTHONPATH=$PWD/$build/llama/pylib /usr/bin/python3 tests/llama/make_model.py "$model.tmp"
  mv "$model.tmp" "$model"
fi
echo "export AMI_LLAMA_SERVER='$server' AMI_LLAMA_BACKEND='$backend' AMI_LLAMA_MODEL='$model'"
