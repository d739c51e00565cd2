#!/usr/bin/env bash
# Unpacks packages of a newer Debian suite (trixie, sid, …) into a private prefix, without
# touching the system: the Neovim versions users run and a real llama.cpp server, for tests.
#
#   scripts/debian-fetch.sh SUITE PREFIX PACKAGE...
#
# apt resolves and downloads PACKAGE and all of its dependencies into PREFIX/.apt (an empty
# dpkg status, a sources list naming only SUITE on the mirror the machine's own apt sources
# use), `dpkg -x` unpacks each .deb into PREFIX, and patchelf points the programs and their
# libraries at PREFIX's own C library (a newer suite's binaries need a newer glibc than the
# machine's).  A second run with the same packages downloads nothing: PREFIX/.stamp records
# what was unpacked.  Prints one line per package: "SUITE PACKAGE VERSION".
#
# Exits 0 when PREFIX is ready; 3 when this machine cannot do it (no apt-get, dpkg or patchelf,
# not x86_64, or the archive is out of reach), after one line on stderr saying why.
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: scripts/debian-fetch.sh SUITE PREFIX PACKAGE..." >&2
  exit 2
fi
suite=$1
prefix=$2
shift 2
pkgs=("$@")

cannot() {
  echo "debian-fetch: cannot fetch ${pkgs[*]} from Debian $suite: $*" >&2
  exit 3
}

[ "$(uname -m)" = x86_64 ] || cannot "this machine is $(uname -m), not x86_64"
for c in apt-get dpkg dpkg-deb patchelf; do
  command -v "$c" >/dev/null 2>&1 || cannot "$c is not installed"
done

mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
# Already there?  The stamp's first line lists what was unpacked; asking for a subset of it
# downloads nothing, asking for more unpacks the union (one prefix per suite).
if [ -f "$prefix/.stamp" ]; then
  read -r -a had < <(head -n 1 "$prefix/.stamp")
  if [ "${had[0]:-}" = "$suite" ]; then
    all=1
    for p in "${pkgs[@]}"; do
      case " ${had[*]:1} " in *" $p "*) ;; *) all=0 ;; esac
    done
    if [ $all = 1 ]; then
      for p in "${pkgs[@]}"; do tail -n +2 "$prefix/.stamp" | grep -E "^$suite $p " || true; done
      exit 0
    fi
    for p in "${had[@]:1}"; do
      case " ${pkgs[*]} " in *" $p "*) ;; *) pkgs+=("$p") ;; esac
    done
  fi
fi
want="$suite ${pkgs[*]}"

# The mirror: the first Debian archive named by the machine's apt sources (deb822 .sources
# files, then the one-line format), never a hard-coded host.
mirror=""
keyring=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  # deb822: paragraphs of "Field: value"; keep the first paragraph whose suites are Debian's
  # main archive (not -security, not a third party's).
  read -r mirror keyring < <(awk '
    BEGIN { RS = ""; FS = "\n" }
    {
      uris = ""; suites = ""; signed = ""; types = ""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
        if ($i ~ /^Suites:/) { suites = $i; sub(/^Suites:[ \t]*/, "", suites) }
        if ($i ~ /^Signed-By:/) { signed = $i; sub(/^Signed-By:[ \t]*/, "", signed) }
        if ($i ~ /^Types:/) { types = $i }
      }
      if (types ~ /deb( |$)/ && suites ~ /(bookworm|trixie|forky|sid|stable|testing|unstable)( |$)/ && suites !~ /-security/ && uris ~ /debian/) {
        split(uris, u, " "); print u[1], signed; exit
      }
    }' "$f") || true
  [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" && $0 !~ /security/ && $0 ~ /debian/ {
      for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; exit } }' \
    /etc/apt/sources.list)
fi
[ -n "$mirror" ] || cannot "no Debian mirror in /etc/apt/sources.list{,.d}"

apt_dir=$prefix/.apt
rm -rf "$apt_dir/lists"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc"
: >"$apt_dir/status"
signed=""
[ -n "$keyring" ] && [ -f "$keyring" ] && signed=" [signed-by=$keyring]"
echo "deb$signed $mirror $suite main" >"$apt_dir/etc/sources.list"
apt_opts=(-q -o "Dir::State=$apt_dir" -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::State::status=$apt_dir/status" -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")

if ! apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1; then
  cannot "apt-get update failed for $mirror $suite ($(grep -m1 -E '^(E|W|Err):' "$apt_dir/update.log" || tail -n 1 "$apt_dir/update.log"))"
fi
if ! apt-get "${apt_opts[@]}" -y --no-install-recommends install --download-only "${pkgs[@]}" \
  >"$apt_dir/download.log" 2>&1; then
  cannot "apt-get could not download them ($(grep -m1 -E '^(E|Err):' "$apt_dir/download.log" || tail -n 1 "$apt_dir/download.log"))"
fi

# Unpack everything apt chose: the packages and their dependencies, the new C library too.
for deb in "$apt_dir"/cache/archives/*.deb; do
  dpkg-deb -x "$deb" "$prefix"
done

lib=$prefix/usr/lib/x86_64-linux-gnu
interp=$lib/ld-linux-x86-64.so.2
[ -e "$interp" ] || interp=$prefix/lib64/ld-linux-x86-64.so.2
[ -e "$interp" ] || cannot "the unpacked packages hold no dynamic loader"

# Every ELF program under usr/bin gets the new loader; every program and library gets an RPATH
# to the prefix's libraries (--force-rpath: RPATH, unlike RUNPATH, also applies to the
# libraries' own dependencies, so nothing falls back to the machine's older ones).
rpath=$lib:$lib/ggml/backends0:$lib/llama
is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }
for f in "$prefix"/usr/bin/*; do
  [ -f "$f" ] && [ ! -L "$f" ] && is_elf "$f" || continue
  patchelf --set-interpreter "$interp" --force-rpath --set-rpath "$rpath" "$f" 2>/dev/null || true
done
while IFS= read -r -d '' f; do
  is_elf "$f" || continue
  patchelf --force-rpath --set-rpath "$rpath" "$f" 2>/dev/null || true
done < <(find "$lib" -name '*.so*' -type f ! -name 'ld-linux*' -print0)

{
  echo "$want"
  for p in "${pkgs[@]}"; do
    deb=$(ls "$apt_dir"/cache/archives/"${p}"_*.deb 2>/dev/null | head -n 1)
    v=$([ -n "$deb" ] && dpkg-deb -f "$deb" Version || echo '?')
    echo "$suite $p $v"
  done
} >"$prefix/.stamp"
tail -n +2 "$prefix/.stamp"
