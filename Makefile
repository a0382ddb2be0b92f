# Tributary: two commands do everything on a fresh Debian 12 machine.
#   make run   installs what is missing, builds, starts the app (personal relay + demo stream)
#   make test  installs what is missing and runs every test
GO        ?= go
BIN       := bin/tributary
CACHE     ?= $(HOME)/.cache/tributary
export TRIBUTARY_CACHE := $(CACHE)

.PHONY: run test deps build lint gotest fuzz bench package clean

run: deps build
	./scripts/run.sh

test: deps lint gotest

deps:
	@./scripts/deps.sh

build:
	$(GO) build -o $(BIN) ./cmd/tributary

lint:
	@./scripts/lint.sh

gotest:
	@./scripts/test.sh

# Short fuzzing of every parser (FUZZTIME per target, default 10s).
fuzz:
	@./scripts/fuzz.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./moq/...

package: deps
	./scripts/package.sh

clean:
	rm -rf bin
