#!/usr/bin/env bash
# gofmt, go vet and the dependency direction (docs/ARCHITECTURE.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null; find . -name '*.go' -newer go.mod -not -path './node_modules/*' 2>/dev/null) | sort -u)
if [ -n "$bad" ]; then
  echo "lint: gofmt would change:"; echo "$bad"; exit 1
fi
go vet ./...
go run ./scripts/depcheck
echo "lint: ok"
