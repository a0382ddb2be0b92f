#!/usr/bin/env bash
# Runs every test with the race detector. Fixtures that need set-up (the
# GoToSocial server, the browser bundle) are prepared by their own scripts
# and found through environment variables.
set -euo pipefail
cd "$(dirname "$0")/.."
# Under make test a missing fixture is a failure, never a skip.
export TRIBUTARY_REQUIRE_FIXTURES=1
for s in scripts/fixtures/*.sh; do
  [ -e "$s" ] || continue
  echo "test: preparing $(basename "$s" .sh)"
  # shellcheck disable=SC1090
  source "$s"
done
go test -race -count=1 -timeout 40m ./... 2>&1 | tee /tmp/tributary-test.log
