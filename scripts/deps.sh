#!/usr/bin/env bash
# Installs what Tributary needs on a Debian 12 machine, once: apt packages that
# are missing, Go modules, and the npm packages of the browser interop tests.
# Safe to run again: it only installs what is not there yet.
set -euo pipefail

APT_PACKAGES=(
  # Fyne (cgo, OpenGL, X11)
  pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
  # real-window tests
  xvfb xauth imagemagick x11-apps xdotool
  # audio output (oto) and capture of it in tests
  libasound2-dev
  # codecs
  libopus-dev libopusfile-dev libvpx-dev
  # the x264 build tag and -tags dynamic of capture (docs/MEDIA.md)
  libx264-dev libopenh264-dev
  # FFmpeg 5.1 for decoding (libavcodec through cgo)
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  # network namespaces and netem
  iproute2
  # browser peer for interop tests, and test media
  chromium ffmpeg
)
# node and npm build the browser interop peer (scripts/fixtures/browser.sh): Debian's
# nodejs and npm, unless a node that brings its own npm is already installed.
if ! command -v npm >/dev/null 2>&1; then
  APT_PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${#missing[@]} Debian packages once: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "deps: Debian packages installed"
fi

cd "$(dirname "$0")/.."
go mod download
