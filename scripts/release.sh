#!/usr/bin/env bash
# The release steps, in the order .github/workflows/release.yml runs them; each also runs
# locally (tests/release.rs runs them in a temporary repository with fake archives).
#
# The point of the order: the commit a release tag names must list that release's own archives
# in checksums.txt, because scripts/install.sh verifies a download only against the
# checksums.txt of the action ref it runs from. So the archives are built first, their SHA-256
# committed on top of the chosen commit, that commit tagged vX.Y.Z (and the major tag vX moved
# to it), and only then is the release published with the very same archives.
#
#   release.sh check VERSION          VERSION is X.Y.Z (or vX.Y.Z), Cargo.toml says X.Y.Z, and
#                                     the tag vX.Y.Z exists neither here nor on the remote
#   release.sh package TARGET OUTDIR  target/TARGET/release/merge-gates[.exe], README.md and
#                                     LICENSE → OUTDIR/merge-gates-TARGET.tar.gz (.zip on Windows)
#   release.sh checksums VERSION DIR  checksums.txt: the lines of vX.Y.Z replaced by
#                                     "<sha256>  vX.Y.Z/<asset>" for each of the five archives in DIR
#   release.sh tag VERSION            commit checksums.txt on top of HEAD, tag it vX.Y.Z, move vX
#                                     to it (not for a pre-release), push both tags atomically;
#                                     a re-run finding its own tag on the remote goes on
#   release.sh publish VERSION DIR    the remote's vX.Y.Z lists exactly DIR's archives: create
#                                     the GitHub release from that tag with those archives
#   release.sh merge-back VERSION     push release/vX.Y.Z (the tag's commit) and open a pull
#                                     request, so the default branch learns the checksums too
#
# Environment: MG_RELEASE_REMOTE (default origin), MG_GH (the gh CLI, default gh),
# GITHUB_OUTPUT (when set, `check` writes tag=, major= and prerelease= to it), GH_TOKEN with
# GITHUB_SERVER_URL (in a workflow: git talks to the server with that token, passed as a header
# through git's environment, so the checkout never stores a credential).
set -euo pipefail

remote="${MG_RELEASE_REMOTE:-origin}"
gh="${MG_GH:-gh}"
# Every platform scripts/install.sh installs on; a release has exactly these archives.
targets=(
  x86_64-unknown-linux-musl
  aarch64-unknown-linux-musl
  x86_64-apple-darwin
  aarch64-apple-darwin
  x86_64-pc-windows-msvc
)

if [ -n "${GH_TOKEN:-}" ] && [ -n "${GITHUB_SERVER_URL:-}" ]; then
  auth="$(printf 'x-access-token:%s' "$GH_TOKEN" | base64 | tr -d '\n')"
  echo "::add-mask::$auth"
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="http.$GITHUB_SERVER_URL/.extraheader"
  export GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $auth"
fi

fail() { echo "::error title=merge-gates release::$*" >&2; exit 1; }

asset_of() {
  case "$1" in
    *-windows-*) echo "merge-gates-$1.zip" ;;
    *) echo "merge-gates-$1.tar.gz" ;;
  esac
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{ print $1 }'
  else
    shasum -a 256 "$1" | awk '{ print $1 }'
  fi
}

# VERSION → the globals tag (vX.Y.Z), plain (X.Y.Z), major (vX) and prerelease (true/false).
parse_version() {
  local v="${1:-}"
  v="${v#v}"
  [[ "$v" =~ ^([0-9]+)\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
    fail "version '${1:-}' is not X.Y.Z or X.Y.Z-pre (a leading v is allowed)"
  plain="$v"
  tag="v$v"
  major="v${BASH_REMATCH[1]}"
  prerelease=false
  [ -z "${BASH_REMATCH[2]}" ] || prerelease=true
}

toplevel() { git rev-parse --show-toplevel; }

remote_has_tag() {
  [ -n "$(git ls-remote --tags "$remote" "refs/tags/$1")" ]
}

# The lines checksums.txt needs for $tag: one per archive of DIR, in the order of $targets.
checksum_lines() {
  local dir="$1" t asset
  for t in "${targets[@]}"; do
    asset="$(asset_of "$t")"
    [ -f "$dir/$asset" ] || fail "$dir has no $asset: a release has all five archives"
    printf '%s  %s/%s\n' "$(sha256 "$dir/$asset")" "$tag" "$asset"
  done
}

cmd_check() {
  parse_version "${1:-}"
  local top cargo_version
  top="$(toplevel)"
  cargo_version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$top/Cargo.toml" | head -n 1)"
  [ "$cargo_version" = "$plain" ] ||
    fail "releasing $tag but Cargo.toml says version = \"$cargo_version\": bump it in a pull request first"
  if git rev-parse -q --verify "refs/tags/$tag" >/dev/null || remote_has_tag "$tag"; then
    fail "the tag $tag exists already: a release tag is never moved"
  fi
  echo "release $tag from $(git rev-parse HEAD) (major tag: $([ "$prerelease" = true ] && echo "not moved, pre-release" || echo "$major"))"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    { echo "tag=$tag"; echo "major=$major"; echo "prerelease=$prerelease"; } >> "$GITHUB_OUTPUT"
  fi
}

cmd_package() {
  local target="${1:-}" out="${2:-}"
  [ -n "$target" ] && [ -n "$out" ] || fail "usage: release.sh package TARGET OUTDIR"
  local top exe asset stage
  top="$(toplevel)"
  exe=merge-gates
  [[ "$target" == *-windows-* ]] && exe=merge-gates.exe
  asset="$(asset_of "$target")"
  [ -f "$top/target/$target/release/$exe" ] || fail "no $top/target/$target/release/$exe: build it first"
  mkdir -p "$out"
  out="$(cd "$out" && pwd)"
  stage="$(mktemp -d)"
  cp "$top/target/$target/release/$exe" "$top/README.md" "$top/LICENSE" "$stage/"
  rm -f "$out/$asset"
  if [[ "$asset" == *.zip ]]; then
    if command -v 7z >/dev/null 2>&1; then
      (cd "$stage" && 7z a -tzip "$out/$asset" . >/dev/null)
    elif command -v zip >/dev/null 2>&1; then
      (cd "$stage" && zip -q -r "$out/$asset" .)
    else
      (cd "$stage" && python3 -m zipfile -c "$out/$asset" "$exe" README.md LICENSE)
    fi
  else
    tar -czf "$out/$asset" -C "$stage" "$exe" README.md LICENSE
  fi
  rm -rf "$stage"
  echo "$out/$asset $(sha256 "$out/$asset")"
}

cmd_checksums() {
  parse_version "${1:-}"
  local dir="${2:-}"
  [ -n "$dir" ] || fail "usage: release.sh checksums VERSION DIR"
  local file lines
  file="$(toplevel)/checksums.txt"
  lines="$(checksum_lines "$dir")"
  # Keep every other release's lines; replace this release's, so a retried run is idempotent.
  { [ ! -f "$file" ] || awk -v p="$tag/" 'index($2, p) != 1 && index($2, "*" p) != 1' "$file"
    printf '%s\n' "$lines"; } > "$file.new"
  mv "$file.new" "$file"
  printf '%s\n' "$lines"
}

cmd_tag() {
  parse_version "${1:-}"
  local top
  top="$(toplevel)"
  cd "$top"
  grep -q "  $tag/" checksums.txt || fail "checksums.txt lists nothing for $tag: run release.sh checksums first"
  if remote_has_tag "$tag"; then
    # A re-run of a release whose publish step failed: the tag is already what this run would
    # push (a commit on top of HEAD listing the same archives), so go on to publish it.
    git fetch -q "$remote" "+refs/tags/$tag:refs/tags/$tag"
    if [ "$(git rev-parse "$tag^{commit}^")" = "$(git rev-parse HEAD)" ] &&
      [ "$(git show "$tag:checksums.txt" | grep "  $tag/")" = "$(grep "  $tag/" checksums.txt)" ]; then
      echo "$tag is already tagged with these archives' checksums (a re-run): nothing to push"
      return 0
    fi
    fail "the tag $tag exists already: a release tag is never moved"
  fi
  git rev-parse -q --verify "refs/tags/$tag" >/dev/null && fail "the tag $tag exists here already: delete the local tag (git tag -d $tag)"
  local who=()
  [ -n "$(git config user.email || true)" ] ||
    who=(-c "user.name=github-actions[bot]" -c "user.email=41898282+github-actions[bot]@users.noreply.github.com")
  git add checksums.txt
  git "${who[@]}" commit -q -m "checksums.txt: $tag" \
    -m "The SHA-256 of the $tag archives, committed before the tag so that the tag's own commit verifies its own release."
  git "${who[@]}" tag -a "$tag" -m "merge-gates $tag"
  local refs=("refs/tags/$tag")
  if [ "$prerelease" = false ]; then
    git "${who[@]}" tag -f -a "$major" -m "$major → $tag" >/dev/null
    refs+=("+refs/tags/$major")
  fi
  # Both tags or neither: a major tag never names a commit whose release tag failed to push.
  git push -q --atomic "$remote" "${refs[@]}"
  echo "tagged $(git rev-parse HEAD) as $tag$([ "$prerelease" = false ] && echo " and $major") and pushed"
}

cmd_publish() {
  parse_version "${1:-}"
  local dir="${2:-}"
  [ -n "$dir" ] || fail "usage: release.sh publish VERSION DIR"
  cd "$(toplevel)"
  remote_has_tag "$tag" || fail "the remote has no tag $tag: run release.sh tag first (nothing is published before the tag exists)"
  git fetch -q "$remote" "refs/tags/$tag:refs/tags/$tag" 2>/dev/null || true
  local listed want
  listed="$(git show "$tag:checksums.txt" | awk -v p="$tag/" 'index($2, p) == 1')"
  want="$(checksum_lines "$dir")"
  [ "$listed" = "$want" ] ||
    fail "the checksums.txt of $tag does not list exactly the archives in $dir"$'\n'"tag:"$'\n'"$listed"$'\n'"archives:"$'\n'"$want"
  local files=() t flags=()
  for t in "${targets[@]}"; do files+=("$dir/$(asset_of "$t")"); done
  if [ "$prerelease" = true ]; then flags=(--prerelease); else flags=(--latest); fi
  "$gh" release create "$tag" --verify-tag --title "$tag" --generate-notes "${flags[@]}" "${files[@]}"
  echo "published $tag with ${#files[@]} archives"
}

cmd_merge_back() {
  parse_version "${1:-}"
  cd "$(toplevel)"
  local branch="release/$tag"
  git push -q "$remote" "refs/tags/$tag^{commit}:refs/heads/$branch"
  "$gh" pr create --head "$branch" --title "checksums.txt: $tag" \
    --body "The commit tagged $tag: it adds the release's SHA-256 to checksums.txt. Merge it so the default branch (and SHA pins of it with \`version: $tag\`) know them too."
}

sub="${1:-}"
shift || true
case "$sub" in
  check) cmd_check "$@" ;;
  package) cmd_package "$@" ;;
  checksums) cmd_checksums "$@" ;;
  tag) cmd_tag "$@" ;;
  publish) cmd_publish "$@" ;;
  merge-back) cmd_merge_back "$@" ;;
  *) sed -n '11,23p' "$0" >&2; exit 2 ;;
esac
