#!/usr/bin/env bash
# Runs each tests/nvim/test_*.lua in its own headless Neovim, with every XDG_* directory and
# HOME pointed at a fresh temporary directory and no real API key in the environment.
#
#   tests/nvim/run.sh [NAME_SUBSTRING | FILE.lua ...]
#
# $NVIM names the Neovim to run (default: nvim on the PATH); $AMI_NVIM_LABEL the prefix of
# the summary lines (default "nvim").  Each file prints "<label>/<file>: N passed, M failed"
# (tests/run.sh adds them up).  A FILE.lua argument runs that file even outside tests/nvim.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
export AMI_ROOT=$ROOT
export AMI_BIN=${AMI_BIN:-$ROOT/build/ami}
NVIM=${NVIM:-nvim}
export AMI_NVIM_LABEL=${AMI_NVIM_LABEL:-nvim}
status=0
files=()
filters=()
for a in "$@"; do
  case "$a" in
  *.lua) files+=("$a") ;;
  *) filters+=("$a") ;;
  esac
done
[ ${#files[@]} -eq 0 ] && files=(tests/nvim/test_*.lua)
set -- "${filters[@]+"${filters[@]}"}"
# run_file FILE: one test file in its own Neovim and directories; its report on stdout,
# status 1 when it failed.
run_file() {
  local f=$1 tmp rc
  tmp=$(mktemp -d /tmp/ami-nvim-XXXXXX)
  mkdir -p "$tmp"/{config,data,state,cache,home,run}
  chmod 700 "$tmp/run"
  env -u OPENROUTER_API_KEY -u OPENAI_API_KEY -u ANTHROPIC_API_KEY -u MISTRAL_API_KEY \
    -u SCW_SECRET_KEY -u AMI_CONFIG -u AMI_LOG -u http_proxy -u https_proxy \
    -u HTTP_PROXY -u HTTPS_PROXY \
    XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" XDG_STATE_HOME="$tmp/state" \
    XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/run" HOME="$tmp/home" AMI_TEST_TMP="$tmp" \
    timeout -k 5 300 "$NVIM" --headless -n -i NONE -u tests/nvim/init.lua \
    -c "lua require('runner').run('$f')" </dev/null 2>"$tmp/stderr"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "  Neovim's messages (stderr):"
    tail -n 40 "$tmp/stderr" | sed 's/^/    /'
    echo
    # A run that died without its summary line still counts as a failure.
    if [ $rc -ge 124 ]; then
      echo "$AMI_NVIM_LABEL/$(basename "$f" .lua): 0 passed, 1 failed"
      echo "  (Neovim exited with status $rc: timeout or crash)"
    fi
  fi
  rm -rf "$tmp"
  return $((rc != 0))
}

selected=()
for f in "${files[@]}"; do
  if [ $# -gt 0 ]; then
    keep=0
    for p in "$@"; do case "$f" in *"$p"*) keep=1 ;; esac; done
    [ $keep = 1 ] || continue
  fi
  selected+=("$f")
done
# One more file at once than there are cores ($NVIM_JOBS): the tests mostly wait on answers.
# Their reports are printed in order.
jobs_max=${NVIM_JOBS:-$(($(nproc 2>/dev/null || echo 1) + 1))}
work=$(mktemp -d /tmp/ami-nvim-run-XXXXXX)
i=0
for f in "${selected[@]+"${selected[@]}"}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
    wait -n 2>/dev/null || sleep 0.2
done
  (run_file "$f" >"$work/$i.out" 2>&1; echo $? >"$work/$i.rc") &
  i=$((i + 1))
done
wait
for ((j = 0; j < i; j++)); do
  cat "$work/$j.out"
  [ "$(cat "$work/$j.rc" 2>/dev/null)" = 0 ] || status=1
done
rm -rf "$work"
exit $status
