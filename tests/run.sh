#!/usr/bin/env bash
# Runs ami's test suites and adds up their "N passed, M failed" lines.
#
#   tests/run.sh              the unit, CLI and Neovim suites
#   tests/run.sh unit cli     some of them: unit, cli, nvim, san (all three again against the
#                             ASan+UBSan build in $SAN_BUILD), fuzz (each fuzzer in $FUZZ_BUILD
#                             for $FUZZ_TIME seconds)
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
  done <<<"$lines"
  if [ "$rc" -ne 0 ] && ! grep -qE ': [0-9]+ passed, [1-9][0-9]* failed$' "$out"; then
    echo "$name: exited with status $rc"
    fail=$((fail + 1))
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
  run nvim tests/nvim/run.sh
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

# Each fuzzer for $FUZZ_TIME seconds on a copy of its seed corpus; a crash fails.
fuzz_suite() {
  local dir=${FUZZ_BUILD:-$BUILD/fuzz}
  local secs=${FUZZ_TIME:-30}
  mkdir -p "$dir/artifacts"
  for f in "$dir"/fuzz_*; do
    [ -x "$f" ] || continue
    case "$f" in *.d) continue ;; esac
    local name
    name=$(basename "$f")
    name=${name#fuzz_}
    local corpus
    corpus=$(mktemp -d)
    [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
    if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
      -artifact_prefix="$dir/artifacts/$name-" "$corpus" >"$out.fuzz" 2>&1; then
      echo "fuzz/$name: 1 passed, 0 failed ($(grep -c . "$out.fuzz") log lines, ${secs} s)"
      pass=$((pass + 1))
    else
      tail -n 40 "$out.fuzz"
      echo "fuzz/$name: 0 passed, 1 failed (input kept in $dir/artifacts/)"
      fail=$((fail + 1))
    fi
    rm -rf "$corpus" "$out.fuzz"
  done
}

for s in "${suites[@]}"; do
  case "$s" in
  unit) unit_suite "$BUILD" ;;
  cli) run cli python3 tests/cli/run.py ;;
  nvim) run nvim tests/nvim/run.sh ;;
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
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
