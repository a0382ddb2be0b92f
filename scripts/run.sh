#!/usr/bin/env bash
# The main job on its embedded default. Until the app lands, this starts the
# headless pieces that exist and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./bin/tributary "$@"
