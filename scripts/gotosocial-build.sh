#!/usr/bin/env bash
# Builds GoToSocial from the Go module proxy into the Tributary cache, once.
# Used by scripts/fixtures/gotosocial.sh; safe to run by hand. The binary and
# the web templates land in $TRIBUTARY_CACHE/gotosocial/<version>/ (never in
# the repository). A build takes about 6 minutes on 2 cores.
set -euo pipefail

GTS_VERSION="${TRIBUTARY_GTS_VERSION:-v0.18.3}"
CACHE="${TRIBUTARY_CACHE:-$HOME/.cache/tributary}"
OUT="$CACHE/gotosocial/$GTS_VERSION"

if [ -x "$OUT/gotosocial" ] && [ -d "$OUT/web/template" ]; then
  echo "gotosocial-build: $OUT/gotosocial is already built"
  exit 0
fi

mkdir -p "$OUT"
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

echo "gotosocial-build: downloading github.com/superseriousbusiness/gotosocial@$GTS_VERSION"
dir="$(cd "$work" && GOFLAGS=-mod=mod GONOSUMDB=github.com/superseriousbusiness/gotosocial \
  go mod download -json "github.com/superseriousbusiness/gotosocial@$GTS_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  echo "gotosocial-build: go mod download gave no module directory" >&2
  exit 1
fi

cp -r "$dir" "$work/gts"
chmod -R u+w "$work/gts"
rm -rf "$work/gts/vendor"

echo "gotosocial-build: building (about 6 minutes on 2 cores)"
(cd "$work/gts" && GOFLAGS=-mod=mod GONOSUMDB=github.com/superseriousbusiness/gotosocial CGO_ENABLED=0 \
  go build -trimpath -tags "netgo osusergo kvformat timetzdata" -o "$work/gotosocial" ./cmd/gotosocial)

rm -rf "$OUT/web"
cp -r "$work/gts/web" "$OUT/web"
mv "$work/gotosocial" "$OUT/gotosocial.tmp"
mv "$OUT/gotosocial.tmp" "$OUT/gotosocial"
echo "gotosocial-build: built $OUT/gotosocial"
