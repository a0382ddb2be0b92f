#!/usr/bin/env bash
# gofmt, a tidy go.mod, go vet, the dependency direction (docs/ARCHITECTURE.md)
# and staticcheck.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(git ls-files '*.go' | xargs -r gofmt -l)
if [ -n "$bad" ]; then
  echo "lint: gofmt would change:"; echo "$bad"; exit 1
fi
# go.mod says what the code imports: direct requirements are not marked
# indirect, nothing unused is listed.
if ! go mod tidy -diff >/dev/null; then
  echo "lint: go.mod or go.sum is not tidy; run 'go mod tidy':"; go mod tidy -diff || true; exit 1
fi
go vet ./...
go run ./scripts/depcheck
# staticcheck, pinned (the module proxy serves it; built once into the Go
# build cache).
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "lint: ok"
