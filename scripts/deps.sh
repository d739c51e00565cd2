#!/usr/bin/env bash
# Installs what ami needs, and only what is missing.
#
#   scripts/deps.sh build          what `make` and `make demo` need (compiler, pkg-config, libraries)
#   scripts/deps.sh test           the above, plus what `make test` runs (Neovim, Python 3, sqlite3,
#                                  valgrind, clang for the fuzzers, openssl for the TLS test,
#                                  tmux for the TUI test, curl, Chromium for the usage page, and
#                                  for the newer Neovims and the llama.cpp server unpacked from
#                                  Debian's newer suites: patchelf and Debian's own python3-numpy)
#   scripts/deps.sh bench          what `make bench` needs (Neovim, Python 3, tmux, curl)
#   scripts/deps.sh --check build  install nothing: name what is missing and fail
#
# Installs with apt-get when run as root, with sudo when it needs no password; otherwise it prints
# the exact command (and the Homebrew and Fedora equivalents) and fails.
set -euo pipefail

check_only=0
if [ "${1:-}" = "--check" ]; then
  check_only=1
  shift
fi
level=${1:-test}

missing_deb=()
missing_brew=()
missing_dnf=()
missing_what=()

need() { # need WHAT DEB BREW DNF
  missing_what+=("$1")
  missing_deb+=("$2")
  missing_brew+=("$3")
  missing_dnf+=("$4")
}

have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pc() { have_cmd pkg-config && pkg-config --exists "$1" 2>/dev/null; }

have_cmd cc || have_cmd gcc || need "a C compiler" gcc gcc gcc
have_cmd make || need make make make make
have_cmd pkg-config || need pkg-config pkg-config pkg-config pkgconf-pkg-config
have_pc msgpack || have_pc msgpack-c || need "msgpack-c (pkg-config msgpack)" libmsgpack-dev msgpack msgpack-devel
have_pc libuv || need "libuv" libuv1-dev libuv libuv-devel
have_pc libcurl || need "libcurl" libcurl4-openssl-dev curl libcurl-devel
have_pc libcjson || need "cJSON" libcjson-dev cjson cjson-devel
have_pc sqlite3 || need "SQLite" libsqlite3-dev sqlite sqlite-devel

if [ "$level" = "test" ]; then
  have_cmd nvim || need "Neovim" neovim neovim neovim
  have_cmd python3 || need "Python 3" python3 python3 python3
  have_cmd sqlite3 || need "the sqlite3 shell" sqlite3 sqlite sqlite
  have_cmd valgrind || need "valgrind" valgrind valgrind valgrind
  have_cmd clang || need "clang" clang llvm clang
  have_cmd openssl || need "openssl" openssl openssl openssl
  have_cmd clang-format || need "clang-format" clang-format clang-format clang-tools-extra
  have_cmd cppcheck || need "cppcheck" cppcheck cppcheck cppcheck
  have_cmd tmux || need "tmux" tmux tmux tmux
  have_cmd curl || need "curl" curl curl curl
  # tests/cli/test_usage_page.py renders `ami usage --html` in headless Chromium.
  have_cmd chromium || have_cmd chromium-browser || need "Chromium" chromium chromium chromium
  # scripts/debian-fetch.sh (Neovim 0.10/0.12 and llama-server from trixie/sid) and
  # tests/llama/make_model.py (Debian's /usr/bin/python3 with its numpy); Debian only.
  if have_cmd apt-get && have_cmd dpkg; then
    have_cmd patchelf || need "patchelf" patchelf patchelf patchelf
    { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; } ||
      need "Debian's python3-numpy" python3-numpy numpy python3-numpy
  fi
  # libFuzzer and the sanitizer runtimes that clang links against.
  if have_cmd clang && ! echo 'int LLVMFuzzerTestOneInput(const char*d,unsigned long n){(void)d;(void)n;return 0;}' |
    clang -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
    need "clang's libFuzzer runtime" libclang-rt-dev compiler-rt compiler-rt
  fi
fi

if [ "$level" = "bench" ]; then
  have_cmd nvim || need "Neovim" neovim neovim neovim
  have_cmd python3 || need "Python 3" python3 python3 python3
  have_cmd tmux || need "tmux" tmux tmux tmux
  have_cmd curl || need "curl (the yardstick's)" curl curl curl
fi

[ ${#missing_deb[@]} -eq 0 ] && exit 0

echo "ami: missing: $(IFS=,; echo "${missing_what[*]}" | sed 's/,/, /g')" >&2
if [ "$check_only" = 1 ]; then
  echo "ami: install them with: scripts/deps.sh $level   (or: sudo apt-get install ${missing_deb[*]})" >&2
  exit 1
fi

apt=""
if have_cmd apt-get; then
  if [ "$(id -u)" = 0 ]; then
    apt="apt-get"
  elif have_cmd sudo && sudo -n true 2>/dev/null; then
    apt="sudo apt-get"
  fi
fi

if [ -z "$apt" ]; then
  cat >&2 <<EOF
ami: cannot install them from here (not root, no password-less sudo, or no apt-get). Run one of:
  Debian/Ubuntu: sudo apt-get install -y ${missing_deb[*]}
  Homebrew:      brew install ${missing_brew[*]}
  Fedora:        sudo dnf install -y ${missing_dnf[*]}
EOF
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "ami: installing: ${missing_deb[*]}" >&2
if ! $apt install -y -q --no-install-recommends "${missing_deb[@]}" >/dev/null; then
  # A fresh machine may have no package lists yet.
  $apt update -q >/dev/null
  $apt install -y -q --no-install-recommends "${missing_deb[@]}" >/dev/null
fi
