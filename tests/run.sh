#!/usr/bin/env bash
# Runs ami's test suites and adds up their "N passed, M failed" lines.
#
#   tests/run.sh              the unit, CLI and Neovim suites
#   tests/run.sh unit cli     some of them: unit, cli, nvim, san (all three again against the
#                             ASan+UBSan build in $SAN_BUILD), fuzz (each fuzzer in $FUZZ_BUILD
#                             for $FUZZ_TIME seconds), llama (against a real llama.cpp server),
#                             tui (Neovim's own TUI in tmux, driven by keystrokes)
#
# The Neovim suite runs on every supported version: the machine's `nvim` (Debian 12: 0.7.2)
# and the newer ones Debian's trixie and sid suites carry, unpacked under $BUILD/debian by
# scripts/debian-fetch.sh (cached: a second run downloads nothing).  Where they cannot be
# fetched (no apt, not x86_64, offline) one line says so and the rest runs; with CI=true a
# missing version is a failure.
#
# Each suite prints lines "<name>: N passed, M failed"; a suite that exits non-zero without
# printing one counts as one failure.  The last line is the total.  $BUILD names the build
# directory (default build); $AMI_BIN the binary under test (default $BUILD/ami).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export AMI_BIN=${AMI_BIN:-$PWD/$BUILD/ami}
export AMI_ROOT=$PWD
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit cli nvim)

pass=0
fail=0
declare -A ver_pass ver_fail # per Neovim version ("nvim-0.12.4", "san/nvim-0.12.4")
ver_order=()
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# run NAME COMMAND...: runs a suite, shows its output, adds its summary lines.  With $prefix
# set, the summary lines are renamed (san/cli: ...), so each pass is told apart.
prefix=
run() {
  local name=$1
  shift
  "$@" >"$out" 2>&1
  local rc=$?
  if [ -n "$prefix" ]; then
    sed -i -E "s#^([^ ].*: [0-9]+ passed, [0-9]+ failed)\$#$prefix\1#" "$out"
  fi
  cat "$out"
  local lines
  lines=$(grep -E '^[^ ].*: [0-9]+ passed, [0-9]+ failed$' "$out")
  if [ -z "$lines" ]; then
    case "$name" in
    style/*)
      # A checker: silence and status 0 is a pass.
      if [ "$rc" -eq 0 ]; then
        echo "$name: 1 passed, 0 failed"
        pass=$((pass + 1))
      else
        echo "$name: 0 passed, 1 failed"
        fail=$((fail + 1))
      fi
      return
      ;;
    esac
    echo "$name: exited with status $rc without a summary"
    fail=$((fail + 1))
    return
  fi
  while read -r line; do
    local p f
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
    f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
    pass=$((pass + p))
    fail=$((fail + f))
    local key=${line%%: *}
    key=${key%/*}
    case "$key" in
    nvim-* | */nvim-*)
      [ -z "${ver_pass[$key]+x}" ] && ver_order+=("$key") && ver_pass[$key]=0 && ver_fail[$key]=0
      ver_pass[$key]=$((ver_pass[$key] + p))
      ver_fail[$key]=$((ver_fail[$key] + f))
      ;;
    esac
  done <<<"$lines"
  if [ "$rc" -ne 0 ] && ! grep -qE ': [0-9]+ passed, [1-9][0-9]* failed$' "$out"; then
    echo "$name: exited with status $rc"
    fail=$((fail + 1))
  fi
}

# ---- Neovim versions -----------------------------------------------------------------------

# nvim_labels[i] / nvim_bins[i]: every Neovim to test, the machine's first.  Filled once.
nvim_labels=()
nvim_bins=()
nvim_ready=0
newest_nvim=
fetch_line() { # fetch_line SUITE PACKAGE...: prepares $BUILD/debian/SUITE; 0 or 3
  local suite=$1
  shift
  local log
  log=$(scripts/debian-fetch.sh "$suite" "$BUILD/debian/$suite" "$@" 2>&1)
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "$log" | tail -n 1
    return 3
  fi
  echo "$log" | sed 's/^/  /'
}
missing_version() { # missing_version WHAT WHY
  echo "nvim: $1 is not tested here: $2"
  if [ "${CI:-}" = true ]; then
    echo "versions/$1: 0 passed, 1 failed (CI=true: every supported version must run)"
    fail=$((fail + 1))
  fi
}
find_nvims() {
  [ $nvim_ready = 1 ] && return
  nvim_ready=1
  if command -v nvim >/dev/null 2>&1; then
    nvim_labels+=("nvim-$(nvim --version | head -n 1 | sed -E 's/^NVIM v?//')")
    nvim_bins+=("$(command -v nvim)")
  fi
  local suite why
  for suite in trixie sid; do
    if ! why=$(fetch_line "$suite" neovim); then
      missing_version "Neovim from Debian $suite" "$why"
      continue
    fi
    local bin=$PWD/$BUILD/debian/$suite/usr/bin/nvim
    local v
    if ! v=$("$bin" --version 2>&1 | head -n 1 | sed -E 's/^NVIM v?//') || [ -z "$v" ]; then
      missing_version "Neovim from Debian $suite" "$bin does not run: $v"
      continue
    fi
    nvim_labels+=("nvim-$v")
    nvim_bins+=("$bin")
  done
  newest_nvim=${nvim_bins[${#nvim_bins[@]}-1]:-}
  echo "Neovim versions under test: ${nvim_labels[*]}"
}

# The headless suite on each version; its summary lines read "nvim-0.12.4/test_x: …".
nvim_suite() {
  find_nvims
  local i
  for i in "${!nvim_bins[@]}"; do
    NVIM=${nvim_bins[$i]} AMI_NVIM_LABEL=${nvim_labels[$i]} run "${nvim_labels[$i]}" \
      tests/nvim/run.sh
  done
}

# ---- a real llama.cpp server ------------------------------------------------------------------

llama_ready=0
llama_suite() {
  if [ $llama_ready = 0 ]; then
    local exports
    if ! exports=$(tests/llama/prepare.sh "$BUILD" 2>&1); then
      llama_ready=2
      echo "llama: the llama.cpp server is not tested here: $(echo "$exports" | tail -n 1)"
      if [ "${CI:-}" = true ]; then
        echo "llama/prepare: 0 passed, 1 failed (CI=true: the real server must run)"
        fail=$((fail + 1))
      fi
    else
      eval "$exports"
      export AMI_LLAMA_SERVER AMI_LLAMA_BACKEND AMI_LLAMA_MODEL
      llama_ready=1
    fi
  fi
  [ $llama_ready = 1 ] || return 0
  run llama python3 tests/cli/run.py --dir tests/llama --name llama
  find_nvims
  local i
  for i in "${!nvim_bins[@]}"; do
    NVIM=${nvim_bins[$i]} AMI_NVIM_LABEL=${nvim_labels[$i]} run "${nvim_labels[$i]}/llama" \
      tests/nvim/run.sh tests/llama/nvim_llama.lua
  done
}

# ---- Neovim's TUI in tmux, driven by keystrokes (the newest Neovim) ---------------------------

tui_suite() {
  find_nvims
  if [ -z "$newest_nvim" ]; then
    echo "tui: no Neovim to drive"
    fail=$((fail + 1))
    return
  fi
  if ! command -v tmux >/dev/null 2>&1; then
    echo "tui: tmux is not installed (scripts/deps.sh test installs it)"
    fail=$((fail + 1))
    return
  fi
  # The newest Neovim, and the oldest supported one (the machine's) when they differ.
  NVIM=$newest_nvim run tui python3 tests/cli/run.py -j 1 --dir tests/tui \
    --name "tui/${nvim_labels[${#nvim_labels[@]}-1]}"
  if [ "${nvim_bins[0]}" != "$newest_nvim" ]; then
    NVIM=${nvim_bins[0]} run tui python3 tests/cli/run.py -j 1 --dir tests/tui \
      --name "tui/${nvim_labels[0]}"
  fi
}

unit_suite() {
  for t in "$1"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d) continue ;; esac
    run "unit/$(basename "$t")" "$t"
  done
}

# The sanitizer pass: every suite against the ASan+UBSan build.  Reports are written to files
# (the engine's stderr is not always visible: Neovim keeps it), and any report is a failure.
san_suite() {
  local san=${SAN_BUILD:-$BUILD/san}
  if [ ! -x "$san/ami" ]; then
    echo "san: $san/ami is missing (make sanitized)"
    fail=$((fail + 1))
    return
  fi
  local reports
  reports=$(mktemp -d)
  local saved_bin=$AMI_BIN
  export AMI_BIN=$PWD/$san/ami AMI_SANITIZED=1
  export ASAN_OPTIONS="detect_leaks=1:log_path=$reports/asan:suppressions=$PWD/tests/asan.supp"
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
  prefix=san/
  unit_suite "$san"
  run cli python3 tests/cli/run.py
  nvim_suite
  llama_suite
  prefix=
  unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS AMI_SANITIZED
  export AMI_BIN=$saved_bin
  local n=0
  for r in "$reports"/*; do
    [ -e "$r" ] || continue
    n=$((n + 1))
    echo "sanitizer report $(basename "$r"):"
    head -n 60 "$r" | sed 's/^/    /'
  done
  echo "san/reports: $([ $n -eq 0 ] && echo 1 || echo 0) passed, $n failed"
  fail=$((fail + n))
  [ $n -eq 0 ] && pass=$((pass + 1))
  rm -rf "$reports"
}

# Each fuzzer for $FUZZ_TIME seconds on a copy of its seed corpus; a crash fails.  As many
# run at once as there are cores ($FUZZ_JOBS), each with the same time, so a core's worth
# of fuzzing per target is unchanged; their results are printed in order.
fuzz_one() { # fuzz_one BINARY NAME SECS STATUS_FILE LOG_FILE
  local corpus
  corpus=$(mktemp -d)
  [ -d "tests/fuzz/corpus/$2" ] && cp -r "tests/fuzz/corpus/$2/." "$corpus/"
  if "$1" -max_total_time="$3" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
    -artifact_prefix="$(dirname "$1")/artifacts/$2-" "$corpus" >"$5" 2>&1; then
    echo 0 >"$4"
  else
    echo 1 >"$4"
  fi
  rm -rf "$corpus"
}
fuzz_suite() {
  local dir=${FUZZ_BUILD:-$BUILD/fuzz}
  local secs=${FUZZ_TIME:-30}
  local jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
  local work
  work=$(mktemp -d)
  mkdir -p "$dir/artifacts"
  local names=() f name
  for f in "$dir"/fuzz_*; do
    [ -x "$f" ] || continue
    case "$f" in *.d) continue ;; esac
    name=$(basename "$f")
    name=${name#fuzz_}
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
      wait -n 2>/dev/null || sleep 0.2
    done
    fuzz_one "$f" "$name" "$secs" "$work/$name.status" "$work/$name.log" &
    names+=("$name")
  done
  wait
  for name in "${names[@]}"; do
    if [ "$(cat "$work/$name.status" 2>/dev/null)" = 0 ]; then
      echo "fuzz/$name: 1 passed, 0 failed ($(grep -c . "$work/$name.log") log lines, ${secs} s)"
      pass=$((pass + 1))
    else
      tail -n 40 "$work/$name.log"
      echo "fuzz/$name: 0 passed, 1 failed (input kept in $dir/artifacts/)"
      fail=$((fail + 1))
    fi
  done
  rm -rf "$work"
}

times=() # "suite seconds", in the order run
for s in "${suites[@]}"; do
  t0=$SECONDS
  case "$s" in
  unit) unit_suite "$BUILD" ;;
  cli) run cli python3 tests/cli/run.py ;;
  nvim) nvim_suite ;;
  llama) llama_suite ;;
  tui) tui_suite ;;
  style)
    run style/format make --no-print-directory -s format-check
    run style/lint make --no-print-directory -s lint
    ;;
  san) san_suite ;;
  fuzz) fuzz_suite ;;
  *)
    echo "tests/run.sh: unknown suite '$s'" >&2
    exit 2
    ;;
  esac
  times+=("$s $((SECONDS - t0)) s")
done

if [ ${#ver_order[@]} -gt 0 ]; then
  echo "Neovim headless suite, per version:"
  for k in "${ver_order[@]}"; do
    echo "  $k: ${ver_pass[$k]} passed, ${ver_fail[$k]} failed"
  done
fi
if [ ${#times[@]} -gt 1 ]; then
  echo "Time per suite: $(printf '%s, ' "${times[@]}" | sed 's/, $//')"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
