#!/usr/bin/env bash
# The main job on its embedded default: opens the Tributary app, which starts
# its personal relay on 127.0.0.1, publishes the demo broadcast (test pattern
# and tone) to it and plays it. No account and no network are needed.
# Extra arguments go to the app (e.g. --config-dir DIR, --no-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
# Fyne reads the locale from LANG; the C locale gives it nothing to read.
case "${LANG:-C}" in C | C.* | POSIX) export LANG=en_US.UTF-8 ;; esac
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run: no display (DISPLAY and WAYLAND_DISPLAY are unset)." >&2
  echo "run: start it from a desktop session, or on a headless machine: Xvfb :99 & DISPLAY=:99 make run" >&2
  exit 1
fi
echo "run: opening Tributary (personal relay + demo broadcast)"
exec ./bin/tributary "$@"
