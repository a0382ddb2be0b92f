#!/usr/bin/env bash
# Packages the desktop app for Linux with `fyne package` (fyne.io/tools
# v1.7.4): a tarball with the binary, the icon and a .desktop file, built
# from FyneApp.toml (name, ID, version, icon). Not part of `make test`.
#
# It packages the committed tree (git archive HEAD) in a temporary folder, so
# nothing appears in the work tree while it runs; the fyne tool is installed
# once into $TRIBUTARY_CACHE/bin; the package lands in bin/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

FYNE_TOOLS_VERSION=v1.7.4
CACHE="${TRIBUTARY_CACHE:-$HOME/.cache/tributary}"
FYNE="$CACHE/bin/fyne-$FYNE_TOOLS_VERSION"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -x "$FYNE" ]; then
  echo "package: installing the fyne tool $FYNE_TOOLS_VERSION into $CACHE/bin (once)"
  mkdir -p "$CACHE/bin" "$work/bin"
  GOBIN="$work/bin" GOFLAGS=-mod=mod go install "fyne.io/tools/cmd/fyne@$FYNE_TOOLS_VERSION"
  mv "$work/bin/fyne" "$FYNE"
fi

echo "package: exporting $(git rev-parse --short HEAD) to $work/src"
mkdir -p "$work/src"
git archive HEAD | tar -x -C "$work/src"

# fyne package reads FyneApp.toml (and the icon it names) from the folder of
# the main package, cmd/tributary.
cp "$work/src/FyneApp.toml" "$work/src/cmd/tributary/FyneApp.toml"
mkdir -p "$work/src/cmd/tributary/assets"
cp "$work/src/assets/icon.png" "$work/src/cmd/tributary/assets/icon.png"

echo "package: fyne package -os linux --release (a few minutes on 2 cores)"
(cd "$work/src/cmd/tributary" && "$FYNE" package -os linux --release)

mkdir -p "$root/bin"
mv "$work/src/cmd/tributary/"*.tar.xz "$root/bin/"
echo "package: built $(ls "$root"/bin/*.tar.xz)"
echo "package: install for this user with: mkdir -p /tmp/t && tar -xJf bin/Tributary.tar.xz -C /tmp/t && make -C /tmp/t user-install"
