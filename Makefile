# wp-dind: `make run` brings up the product, `make test` runs every test. `make help` lists all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO      ?= go
BIN     := bin
WPINIT  := $(BIN)/wpinit
GOFILES := $(shell find . -name '*.go' -not -path './.cache/*')

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

## ---- build -------------------------------------------------------------------------------
.PHONY: build
build: $(WPINIT) ## build the static bin/wpinit

$(WPINIT): $(GOFILES) go.mod go.sum
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $@ ./init

## ---- checks ------------------------------------------------------------------------------
.PHONY: lint
lint: ## gofmt, go vet, staticcheck (pinned in go.mod)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

.PHONY: unit
unit: ## unit tests (no root, no Docker)
	$(GO) test -count=1 ./pkg/...

.PHONY: pid1
pid1: $(WPINIT) ## PID-1 tests: the real bin/wpinit as PID 1 of a new PID namespace (root), and its CLI
	WPINIT_BIN=$(abspath $(WPINIT)) $(GO) test -count=1 -timeout 300s ./init/

.PHONY: test
test: lint unit pid1 ## every test: lint, unit, PID 1, images, instances, end to end

## ---- benchmarks --------------------------------------------------------------------------
.PHONY: bench-supervisor
bench-supervisor: $(WPINIT) ## wpinit vs Debian's supervisord: restart latency, RSS, idle CPU (about 90 s)
	@command -v supervisord >/dev/null || { apt-get update -qq && apt-get install -y -qq supervisor; }
	$(GO) run ./scripts/bench-supervisor --wpinit $(abspath $(WPINIT)) --supervisord "$$(command -v supervisord)"
