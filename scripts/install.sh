#!/usr/bin/env bash
# Install the merge-gates binary for a GitHub Actions step, shared by every action.yml.
#
# Downloads the release archive for the action's version and the runner's OS/arch, verifies its
# SHA-256 against checksums.txt committed in the action itself (never only the release's own
# .sha256 file: a replaced release asset must not be trusted), caches the binary in the tool
# cache, and puts it on $GITHUB_PATH. Without a prebuilt binary (a branch, SHA or local ref,
# an unknown platform, no checksum entry, no such asset) it builds from the action's source with
# `cargo install --locked`, with a notice; `fallback: none` makes that an error. A checksum
# mismatch is always fatal. The fallback build installs libclang first when it is missing
# (pg_query's bindgen needs it): apt on Linux, Homebrew's llvm on macOS, with a notice.
#
# `install.sh --cache-key` installs nothing: it writes `key=` (the runner's OS/arch and a hash of
# the action's source) and `path=` (where a fallback build goes) to $GITHUB_OUTPUT, so the action
# restores an earlier run's build with actions/cache; after a build, the install writes
# `built=true` to $GITHUB_OUTPUT, so the action saves it.
#
# Environment (set from the action's inputs through `env:`, never interpolated):
#   MG_VERSION              release tag to install (default: from the action's ref)
#   MG_ACTION_REF           ${{ github.action_ref }}: the ref the workflow used the action at
#   MG_ACTION_REPOSITORY    ${{ github.action_repository }} (default merge-gates/merge-gates)
#   MG_FALLBACK             `build` (default) or `none`
#   MERGE_GATES_RELEASE_URL base URL of release downloads (default
#                           $GITHUB_SERVER_URL/<action repository>/releases/download)
#   MERGE_GATES_CHECKSUMS   checksum file (default: checksums.txt at the action's root)
#   MERGE_GATES_CARGO       the cargo used for the fallback build (default: cargo)
#   MERGE_GATES_LIBCLANG_DIRS  where to look for libclang, `:`-separated (default: LIBCLANG_PATH,
#                           the system's library and LLVM directories, ldconfig, Xcode)
#   MERGE_GATES_APT         the apt-get that installs libclang (default: `sudo apt-get`, or
#                           `apt-get` as root)
#   MERGE_GATES_BREW        the brew that installs llvm on macOS (default: brew)
#   RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP, RUNNER_TOOL_CACHE, GITHUB_PATH: from the runner.
set -euo pipefail

mode=install
[ "${1:-}" != --cache-key ] || mode="cache-key"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
checksums="${MERGE_GATES_CHECKSUMS:-$root/checksums.txt}"
fallback="${MG_FALLBACK:-build}"
temp="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
cache="${RUNNER_TOOL_CACHE:-$temp}/merge-gates"

notice() { echo "::notice title=merge-gates install::$*"; }
fail() { echo "::error title=merge-gates install::$*"; exit 1; }

case "$fallback" in build | none) ;; *) fail "input fallback must be 'build' or 'none', not '$fallback'" ;; esac

# The release tag to install: the input, else the ref the action was used at. A full version tag
# names itself; a moving major tag (v1, v1.2) points at a release commit whose Cargo.toml says
# which release it is; anything else (a branch, a SHA, `uses: ./`) has no prebuilt binary.
version="${MG_VERSION:-}"
if [ -z "$version" ]; then
  ref="${MG_ACTION_REF:-${GITHUB_ACTION_REF:-}}"
  if [[ "$ref" =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$ ]]; then
    version="$ref"
  elif [[ "$ref" =~ ^v[0-9]+(\.[0-9]+)?$ ]]; then
    cargo_version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)"
    [ -n "$cargo_version" ] && version="v$cargo_version"
  fi
fi
if [ -n "$version" ] && ! [[ "$version" =~ ^v?[0-9A-Za-z.+-]+$ ]]; then
  fail "version '$version' is not a release tag"
fi
[ -z "$version" ] || [[ "$version" == v* ]] || version="v$version"

# The runner's platform as a Rust target triple and archive type.
os="${RUNNER_OS:-}"
arch="${RUNNER_ARCH:-}"
target=""
ext="tar.gz"
case "$os/$arch" in
  Linux/X64) target="x86_64-unknown-linux-musl" ;;
  Linux/ARM64) target="aarch64-unknown-linux-musl" ;;
  macOS/X64) target="x86_64-apple-darwin" ;;
  macOS/ARM64) target="aarch64-apple-darwin" ;;
  Windows/X64) target="x86_64-pc-windows-msvc"; ext="zip" ;;
esac
exe="merge-gates"
[ "$os" = Windows ] && exe="merge-gates.exe"
asset="merge-gates-$target.$ext"

add_path() {
  local dir="$1"
  # On Windows runners $GITHUB_PATH takes Windows paths.
  if [ "$os" = Windows ] && command -v cygpath >/dev/null 2>&1; then dir="$(cygpath -w "$dir")"; fi
  echo "$dir" >> "${GITHUB_PATH:?GITHUB_PATH is not set: run this as an action step}"
  echo "merge-gates: $1/$exe"
}

sha256_stdin() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum | awk '{ print $1 }'; else shasum -a 256 | awk '{ print $1 }'; fi
}

# What the build is made of (what cargo compiles or include_str!s), hashed: the same source
# under any ref shares a build, and a moved branch never reuses a stale one.
source_hash() {
  (
    cd "$root"
    local sum=(sha256sum)
    command -v sha256sum >/dev/null 2>&1 || sum=(shasum -a 256)
    find Cargo.toml Cargo.lock src schemas docs/rules docs/examples -type f -print0 2>/dev/null | LC_ALL=C sort -z |
      xargs -0 "${sum[@]}"
  ) | sha256_stdin
}

libclang_found() {
  local dirs d f
  if [ -n "${MERGE_GATES_LIBCLANG_DIRS+set}" ]; then
    dirs="$MERGE_GATES_LIBCLANG_DIRS"
  else
    dirs="${LIBCLANG_PATH:-}:/usr/lib:/usr/lib64:/usr/local/lib:/usr/lib/$(uname -m)-linux-gnu"
    for d in /usr/lib/llvm-*/lib /usr/lib64/llvm*/lib /opt/homebrew/opt/llvm/lib /usr/local/opt/llvm/lib; do
      dirs="$dirs:$d"
    done
    if command -v xcode-select >/dev/null 2>&1 && d="$(xcode-select --print-path 2>/dev/null)"; then
      dirs="$dirs:$d/usr/lib:$d/Toolchains/XcodeDefault.xctoolchain/usr/lib"
    fi
    if command -v ldconfig >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so'; then
      return 0
    fi
  fi
  local IFS=:
  for d in $dirs; do
    [ -n "$d" ] || continue
    for f in "$d"/libclang.so* "$d"/libclang-[0-9]*.so* "$d"/libclang.dylib "$d"/libclang.dll; do
      [ -e "$f" ] && return 0
    done
  done
  return 1
}

# pg_query generates its bindings with bindgen, which loads libclang: install it when missing.
ensure_libclang() {
  libclang_found && return 0
  case "$os" in
    Linux)
      local apt
      if [ -n "${MERGE_GATES_APT:-}" ]; then
        apt="$MERGE_GATES_APT"
      elif [ "$(id -u)" = 0 ]; then
        apt="apt-get"
      else
        apt="sudo apt-get"
      fi
      if [ -z "${MERGE_GATES_APT:-}" ] && ! command -v apt-get >/dev/null 2>&1; then
        echo "::warning title=merge-gates install::libclang (needed to build pg_query) was not found and this runner has no apt-get: install libclang or set LIBCLANG_PATH. Trying the build anyway."
        return 0
      fi
      notice "libclang (needed to build pg_query) is missing: installing libclang-dev and clang with apt-get"
      # shellcheck disable=SC2086 # "sudo apt-get" is two words on purpose.
      $apt update -qq || true
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive $apt install -y -qq libclang-dev clang ||
        fail "installing libclang-dev and clang with apt-get failed: the fallback build needs libclang"
      ;;
    macOS)
      local brew="${MERGE_GATES_BREW:-brew}"
      command -v "$brew" >/dev/null 2>&1 ||
        fail "libclang (needed to build pg_query) is missing and Homebrew is not installed: install Xcode's command line tools or LLVM, or set LIBCLANG_PATH"
      notice "libclang (needed to build pg_query) is missing: installing llvm with Homebrew"
      "$brew" install --quiet llvm || fail "brew install llvm failed: the fallback build needs libclang"
      LIBCLANG_PATH="$("$brew" --prefix llvm)/lib"
      export LIBCLANG_PATH
      ;;
    *)
      echo "::warning title=merge-gates install::libclang (needed to build pg_query) was not found: install LLVM or set LIBCLANG_PATH. Trying the build anyway."
      ;;
  esac
}

build_from_source() {
  local why="$1"
  local dest="$temp/merge-gates-build"
  if [ "$fallback" = none ]; then
    fail "no prebuilt merge-gates binary: $why (input fallback is 'none', so nothing is built)"
  fi
  local hash
  hash="$(source_hash)"
  # Several merge-gates steps in one job, and later runs through actions/cache, build the same
  # source once.
  if [ -x "$dest/bin/$exe" ] && [ "$(cat "$dest/source" 2>/dev/null)" = "$hash" ]; then
    echo "merge-gates: no prebuilt binary ($why); reusing the build of this source ($hash) from an earlier step or run"
    add_path "$dest/bin"
    exit 0
  fi
  notice "no prebuilt merge-gates binary: $why. Building it from the action's source with cargo install --locked (this takes a few minutes)."
  local cargo="${MERGE_GATES_CARGO:-cargo}"
  command -v "$cargo" >/dev/null 2>&1 || fail "the fallback build needs cargo (Rust), which is not installed: https://rustup.rs"
  ensure_libclang
  "$cargo" install --locked --path "$root" --root "$dest" --quiet
  [ -x "$dest/bin/$exe" ] || fail "cargo install did not produce $dest/bin/$exe"
  echo "$hash" > "$dest/source"
  [ -z "${GITHUB_OUTPUT:-}" ] || echo "built=true" >> "$GITHUB_OUTPUT"
  add_path "$dest/bin"
  exit 0
}

if [ "$mode" = cache-key ]; then
  key="merge-gates-build-$os-$arch-$(source_hash)"
  { echo "key=$key"; echo "path=$temp/merge-gates-build"; } >> "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: run this as an action step}"
  echo "merge-gates: fallback build cache $key"
  exit 0
fi

[ -n "$version" ] || build_from_source "the action is used at '${MG_ACTION_REF:-a local path}', which is not a release tag"
[ -n "$target" ] || build_from_source "no release binary for $os/$arch"

key="$version/$asset"
expected=""
if [ -f "$checksums" ]; then
  expected="$(awk -v k="$key" '$2 == k || $2 == "*" k { print $1; exit }' "$checksums")"
fi
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || build_from_source "$(basename "$checksums") has no SHA-256 for $key"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{ print $1 }'
  else
    shasum -a 256 "$1" | awk '{ print $1 }'
  fi
}

# The archive (tar.gz or zip) $1 unpacked into $2; prints the path of the binary in it.
unpack() {
  mkdir -p "$2"
  case "$ext" in
    tar.gz) tar -xzf "$1" -C "$2" ;;
    zip)
      if command -v unzip >/dev/null 2>&1; then
        unzip -q "$1" -d "$2"
      elif command -v 7z >/dev/null 2>&1; then
        7z x -y -o"$2" "$1" >/dev/null
      else
        python3 -m zipfile -e "$1" "$2"
      fi
      ;;
  esac
  find "$2" -maxdepth 2 -type f -name "$exe" | head -n 1
}

# The tool cache outlives the job and anything may have written to it, the text of
# archive.sha256 included. So on every use the cached archive is hashed against checksums.txt
# (the action's own, trusted) and the cached binary itself against the binary in that archive;
# anything else is installed again from a verified download.
dir="$cache/$version/$target"
if [ -x "$dir/bin/$exe" ] && [ -f "$dir/$asset" ] && [ "$(sha256 "$dir/$asset")" = "$expected" ]; then
  check="$(mktemp -d "$temp/merge-gates-check.XXXXXX")"
  packed="$(unpack "$dir/$asset" "$check" 2>/dev/null || true)"
  if [ -n "$packed" ] && [ "$(sha256 "$packed")" = "$(sha256 "$dir/bin/$exe")" ]; then
    rm -rf "$check"
    echo "merge-gates $version ($target) from the tool cache, SHA-256 of the archive and of the binary verified"
    add_path "$dir/bin"
    exit 0
  fi
  rm -rf "$check"
fi
if [ -e "$dir" ]; then
  notice "the cached merge-gates in $dir does not match checksums.txt; installing it again"
  rm -rf "$dir"
fi

repository="${MG_ACTION_REPOSITORY:-merge-gates/merge-gates}"
base="${MERGE_GATES_RELEASE_URL:-${GITHUB_SERVER_URL:-https://github.com}/$repository/releases/download}"
url="${base%/}/$version/$asset"
work="$(mktemp -d "$temp/merge-gates-download.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "Downloading $url"
if ! curl --fail --silent --show-error --location --retry 3 --connect-timeout 10 --max-time 300 \
  --output "$work/$asset" "$url"; then
  build_from_source "downloading $url failed"
fi
actual="$(sha256 "$work/$asset")"
if [ "$actual" != "$expected" ]; then
  fail "checksum mismatch for $key: expected $expected (checksums.txt of the action), got $actual. The download is not used."
fi

bin="$(unpack "$work/$asset" "$work/x")"
[ -n "$bin" ] || fail "$asset holds no $exe"
mkdir -p "$dir/bin"
cp "$bin" "$dir/bin/$exe"
chmod +x "$dir/bin/$exe"
cp "$work/$asset" "$dir/$asset"
echo "merge-gates $version ($target) installed, SHA-256 $expected verified"
add_path "$dir/bin"
