#!/usr/bin/env bash
# make demo: the main job.  Asks an expert friend about the unclear paragraph of a sample note
# (examples/sample-note.md, lines 21-23), with the whole note as context.
#
# On a terminal with Neovim installed, it opens Neovim on a copy of the note with the plugin
# loaded (scripts/demo_init.lua), runs :Critique on the paragraph, and shows what to try next;
# the remarks land on the words as margin notes.  Without a terminal (CI, a pipe), without
# Neovim, or with `make demo-cli` (AMI_DEMO_CLI=1), the same critique from the command line,
# through the same engine (`ami critique`).
#
# With OPENROUTER_API_KEY set, the question goes to OpenRouter (model: $AMI_DEMO_MODEL, default
# the configured one); it costs about a cent and lands in your usage ledger.  Without a key,
# it runs against the bundled offline demo provider on 127.0.0.1, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
AMI=${AMI_BIN:-build/ami}
case $AMI in /*) ;; *) AMI=$PWD/$AMI ;; esac # tests/run.sh exports an absolute AMI_BIN
NOTE=examples/sample-note.md
LINES=21-23
QUESTION="Ce paragraphe est-il clair et explicite ? Qu'est-ce qu'un lecteur pourrait mal comprendre ?"

tmp=$(mktemp -d)
cleanup() {
  [ -n "${fake_pid:-}" ] && kill "$fake_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

start_fake() {
  python3 tests/fake_provider.py --port 0 --log "$tmp/requests.jsonl" >"$tmp/port" 2>"$tmp/err" &
  fake_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^PORT ' "$tmp/port" 2>/dev/null && break
    sleep 0.05
  done
  port=$(awk '/^PORT /{print $2}' "$tmp/port")
  if [ -z "$port" ]; then
    echo "ami demo: the offline demo provider did not start:" >&2
    cat "$tmp/err" >&2
    exit 1
  fi
}

# ---- in Neovim -------------------------------------------------------------------------------
NVIM=${AMI_DEMO_NVIM:-nvim}
if [ -z "${AMI_DEMO_CLI:-}" ] && [ -t 0 ] && [ -t 1 ] && command -v "$NVIM" >/dev/null 2>&1; then
  mkdir -p "$tmp"/{config,data,state,cache}
  cp "$NOTE" "$tmp/sample-note.md"
  base=""
  model=""
  key=${OPENROUTER_API_KEY:-}
  if [ -z "$key" ]; then
    start_fake
    base="http://127.0.0.1:$port/openrouter/v1"
    model="fake/demo?tps=40"
    key=offline-demo-key
  fi
  XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" XDG_STATE_HOME="$tmp/state" \
    XDG_CACHE_HOME="$tmp/cache" AMI_CONFIG="$tmp/config.json" AMI_BIN="$AMI" \
    AMI_DEMO_ROOT="$PWD" AMI_DEMO_NOTE="$tmp/sample-note.md" AMI_DEMO_LEDGER="$tmp/state/ledger.sqlite3" \
    AMI_DEMO_BASE="$base" AMI_DEMO_MODEL="${AMI_DEMO_MODEL:-$model}" OPENROUTER_API_KEY="$key" \
    "$NVIM" -n -i NONE -u scripts/demo_init.lua
  exit $?
fi

# ---- on the command line ----------------------------------------------------------------------
echo "── ami demo: a critique of lines $LINES of $NOTE ──────────────────────────"
sed -n "${LINES/-/,}p" "$NOTE" | sed 's/^/  │ /'
echo "  Question: $QUESTION"
echo

if [ -n "${OPENROUTER_API_KEY:-}" ]; then
  echo "(OpenRouter, with your key; the cost is shown at the end and recorded in your ledger)"
  echo
  XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache" \
    "$AMI" critique "$NOTE" --lines "$LINES" ${AMI_DEMO_MODEL:+--model "$AMI_DEMO_MODEL"} "$QUESTION"
  exit $?
fi

echo "(offline demo: OPENROUTER_API_KEY is not set, so a local demo provider plays a"
echo " pre-recorded answer; no model is called and nothing is spent.  Set the key to ask"
echo " a real model.)"
echo
start_fake
# Its own settings, XDG dirs and a throwaway key: the demo leaves no trace in your ledger or
# cache, and your config file does not change it.
echo '{}' >"$tmp/config.json"
XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache" AMI_CONFIG="$tmp/config.json" \
  OPENROUTER_API_KEY=offline-demo-key \
  "$AMI" critique "$NOTE" --lines "$LINES" --model "fake/demo" \
  --base-url "http://127.0.0.1:$port/openrouter/v1" "$QUESTION"
