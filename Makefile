# wp-dind: `make run` brings up the product, `make test` runs every test. `make help` lists all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO      ?= go
BIN     := bin
WPINIT  := $(BIN)/wpinit
GOFILES := $(shell find . -name '*.go' -not -path './.cache/*')
# Files the binary embeds (go:embed): the dashboard's templates and assets.
EMBEDDED := $(shell find pkg/dashboard/templates pkg/dashboard/assets -type f)

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

## ---- build -------------------------------------------------------------------------------
.PHONY: build
build: $(WPINIT) ## build the static bin/wpinit

$(WPINIT): $(GOFILES) $(EMBEDDED) go.mod go.sum
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $@ ./init

## ---- checks ------------------------------------------------------------------------------
.PHONY: lint
lint: ## gofmt, go vet, staticcheck (pinned in go.mod)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

.PHONY: unit
unit: ## package tests with -race, the package-doc check among them (those needing root, the engine or a tool skip without them, fail under make test)
	$(GO) test -race -count=1 ./pkg/...

# Every FuzzXxx of the tree, found per package with go test -list (scripts/fuzz.sh), so a new
# target joins both by itself. A failing input is saved under testdata/fuzz/: commit it.
FUZZTIME ?= 5m
.PHONY: fuzz fuzz-short
fuzz: ## every fuzz target for FUZZTIME each (default 5m): the parsers of both TOML files, the image manifest reader, the backup archive reader
	scripts/fuzz.sh $(FUZZTIME)

fuzz-short: ## every fuzz target for 10 000 inputs each (part of make test; a count, see scripts/fuzz.sh)
	scripts/fuzz.sh 10000x

.PHONY: pid1
pid1: $(WPINIT) ## PID-1 tests: the real bin/wpinit as PID 1 of a new PID namespace (root), and its CLI
	WPINIT_BIN=$(abspath $(WPINIT)) $(GO) test -count=1 -timeout 300s ./init/

## ---- images ------------------------------------------------------------------------------
.PHONY: engine instance-images dind-image images save-images images-test image-figures run run-test config-check shellcheck

engine: ## make sure a Docker engine answers (on Debian as root: install and start dockerd if none)
	@scripts/engine.sh

instance-images: engine ## build wp-php, wp-mariadb, wp-nginx, wp-apache (cached; base images once)
	scripts/images.sh

dind-image: engine $(WPINIT) ## build wp-dind:latest (cached; WP_DIND_IMAGE=wp-dind:TAG builds another tag)
	scripts/build-dind.sh $(WPINIT)

images: instance-images dind-image ## build every image, offline (Debian mirror + npm registry)

save-images: instance-images ## write the instance images to shared-images/*.tar (what wp-dind loads)
	scripts/save-images.sh

images-test: images ## contract tests of the images (images/*_test.go) against the engine
	$(GO) test -count=1 -timeout 30m -v ./images/...

image-figures: images ## build times cold and cached, sizes, MariaDB first starts (slow: rebuilds all)
	scripts/image-figures.sh $(WPINIT)

run: images save-images ## bring up wp-dind as the container wpinit; ends when every site serves (at most WP_DIND_RUN_TIMEOUT=600 s) with what to open
	scripts/run.sh

# TestRunScript (images/run_test.go) runs scripts/run.sh with its own container, volume,
# folders and free host ports, beside any make run; it skips unless WPDIND_RUN_TEST=1.
run-test: images save-images ## scripts/run.sh on free ports: it ends with the site table and every URL in it answers (about 2 min)
	WPDIND_RUN_TEST=1 $(GO) test -count=1 -timeout 30m -v -run '^TestRunScript$$' ./images/

# conf/wpinit.toml names users and commands that exist only in the image (maildev,
# php-fpm8.4): the check runs inside it, with conf/ mounted where make run mounts it.
config-check: dind-image ## check conf/wpinit.toml as the wp-dind image sees it (its users and commands)
	@echo "conf/ mounted at /etc/wpinit in $${WP_DIND_IMAGE:-wp-dind:latest}, as make run mounts it:"
	@docker run --rm -v $(CURDIR)/conf:/etc/wpinit:ro $${WP_DIND_IMAGE:-wp-dind:latest} config check /etc/wpinit/wpinit.toml

shellcheck: ## shellcheck the build scripts and the images' entrypoints
	shellcheck -x scripts/*.sh images/*/rootfs/usr/local/bin/* images/upstream/*/wp-dind-entrypoint images/dind/wp-dind-health images/dind/wp-dind-xdebug-forward

# The host tools the tests drive (Debian packages), installed only when missing: php-cli lints
# the phpMyAdmin fragment, docker-compose validates the exported docker-compose.yml files,
# promtool (Debian's prometheus package) checks /metrics.
.PHONY: tools
tools: ## install the host tools the tests use (php-cli, docker-compose, promtool) when missing
	@missing=""; command -v php >/dev/null || missing="$$missing php-cli"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

# Under make test a missing tool, engine or image fails the tests that need it instead of
# skipping them (WPDIND_STRICT=1); the engine and tools come first so unit tests find them.
# The tests on the engine run beside a container named wpinit (make run's, or the blocker
# that stands in for it) and must leave it as it was.
.PHONY: test
test: export WPDIND_STRICT = 1
test: lint tools engine unit fuzz-short pid1 beside ## every test: lint, unit, 10 000 inputs of each fuzz target, PID 1, then images, instances, end to end and make run beside a wpinit

## ---- end to end ------------------------------------------------------------------------
# The product as a user runs it: wp-dind from `make images`, the tarballs of save-images.
# images/e2e_test.go skips unless WPDIND_E2E=1; bench-boot's test unless WPDIND_BENCH=1.
.PHONY: e2e isolation-test bench-boot router-test bench-router
e2e: images save-images ## wp-dind end to end: two instances, phpMyAdmin, mail, backup/restore, kill -9, stop/start (about 2 min)
	WPDIND_E2E=1 $(GO) test -count=1 -timeout 30m -v -run '^TestEndToEnd$$' ./images/

# images/e2e_reliability_test.go skips unless WPDIND_RELIABILITY=1; its wp-dind is its own.
.PHONY: reliability-test
reliability-test: images save-images ## wp-dind: kill -9 of dockerd while three sites converge beside two serving, five new sites' status against their answers, a rename keeping id and port (about 4 min)
	WPDIND_RELIABILITY=1 $(GO) test -count=1 -timeout 30m -v -run '^TestReliability$$' ./images/

# TestIsolation (images/e2e_isolation_test.go) skips unless WPDIND_ISOLATION=1.
isolation-test: images save-images ## wp-dind's isolation: the matrix of what each instance reaches, again after kill -9 dockerd, and a fork bomb held by its pids limit (about 6 min)
	WPDIND_ISOLATION=1 $(GO) test -count=1 -timeout 30m -v -run '^TestIsolation$$' ./images/

# images/e2e_host_images_test.go: TestHostImages skips unless WPDIND_HOST_IMAGES=1, its bench
# unless WPDIND_BENCH=1; each mounts the host's Docker socket into its own wp-dind.
.PHONY: host-images-test bench-host-images
host-images-test: images save-images ## wp-dind with the host's Docker socket and only the nginx tarball: only the missing images come from the host engine, the site serves (about 3 min)
	WPDIND_HOST_IMAGES=1 $(GO) test -count=1 -timeout 30m -v -run '^TestHostImages$$' ./images/

bench-host-images: images save-images ## first boot to one site serving, from the tarballs and from the host engine (about 5 min)
	WPDIND_BENCH=1 $(GO) test -count=1 -timeout 30m -v -run '^TestBenchHostImages$$' ./images/

bench-boot: images save-images ## boot figures: docker run to services ready, to 1 and 10 sites serving 200 cold and warm, image loads, wpinit RSS (about 6 min)
	@mkdir -p $(BIN)
	WPDIND_BENCH=1 $(GO) test -count=1 -timeout 60m -v -run '^TestBenchBoot$$' ./images/ > $(BIN)/bench-boot.log 2>&1 \
		|| { tail -n 60 $(BIN)/bench-boot.log; exit 1; }
	@grep -E '^ +bench_boot_test.go:[0-9]+: ' $(BIN)/bench-boot.log | sed -E 's/^ +bench_boot_test.go:[0-9]+: /bench: /'
	@grep '^services_ready_s=' $(BIN)/bench-boot.log | tail -n 1

# The router (images/router_test.go) skips unless WPDIND_ROUTER=1; its wp-dind is its own,
# on free ports (never the host's 80/443). The browser part needs browser-deps and certutil.
router-test: images save-images browser-deps ## the router on the real product: HTTPS by name with ctl ca, http and port URLs, Secure login, Site Health loopback, Chromium with and without the CA, 1000 requests across an add and a remove, sleep_after=20s (about 8 min)
	@command -v certutil >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libnss3-tools >/dev/null; }
	WPDIND_ROUTER=1 WPDIND_PLAYWRIGHT_DIR=$(abspath $(NODE_DIR)) $(GO) test -count=1 -timeout 30m -v -run '^TestRouter$$' ./images/

bench-router: images save-images ## router figures on one line: route add, wake, proxy overhead (median TTFB over 200 requests), an asleep site's memory (about 5 min)
	@mkdir -p $(BIN)
	WPDIND_BENCH_ROUTER=1 $(GO) test -count=1 -timeout 30m -v -run '^TestBenchRouter$$' ./images/ > $(BIN)/bench-router.log 2>&1 \
		|| { tail -n 60 $(BIN)/bench-router.log; exit 1; }
	@grep -E '^ +router_bench_test.go:[0-9]+: ' $(BIN)/bench-router.log | sed -E 's/^ +router_bench_test.go:[0-9]+: /bench: /'
	@grep '^route_add_ms=' $(BIN)/bench-router.log | tail -n 1

# TestDevLoop (images/devloop_test.go) skips unless WPDIND_DEVLOOP=1, TestMatrixIntegration
# (pkg/reconciler) unless WPDIND_INTEGRATION=1.
.PHONY: devloop-test
devloop-test: engine tools images save-images ## the developer's loop on the real product: code of the projects folder active and edited live, a bad path refused, two subdirectory networks, Xdebug at a listener on the host, ctl shell and logs; then a 3 PHP x 2 MariaDB matrix losing 7.4 (about 5 min)
	WPDIND_DEVLOOP=1 $(GO) test -count=1 -timeout 30m -v -run '^TestDevLoop$$' ./images/
	WPDIND_INTEGRATION=1 $(GO) test -count=1 -timeout 30m -v -run '^TestMatrixIntegration$$' ./pkg/reconciler/

## ---- beside a running wp-dind ------------------------------------------------------------
# scripts/beside: with no container named wpinit, up starts the blocker (wp-base:bookworm named
# wpinit, publishing and answering 127.0.0.1:8000-8079, 8081-8099, 8080, 1080, 8500 and the router's 80 and 443 (or 8880 and 8443 when taken) as make run's
# does); with one (make run's), it records its ID, start, ports, instance container IDs and
# sites. check requires all of it unchanged; down removes only a blocker up started.
.PHONY: beside beside-up beside-check beside-down
BESIDE := $(GO) run ./scripts/beside -state $(BIN)/beside.json

beside: engine tools images save-images browser-deps ## images-test, instances-test, e2e, run-test, reliability-test, isolation-test, dashboard-test, devloop-test, host-images-test, router-test and data-test beside make run's wpinit (or a blocker), which must be untouched afterwards
	$(BESIDE) run $(MAKE) --no-print-directory images-test instances-test e2e run-test reliability-test isolation-test dashboard-test devloop-test host-images-test router-test data-test

beside-up: engine ## start the blocker, or record make run's wpinit (then run anything, then beside-check)
	$(BESIDE) up

beside-check: ## the wpinit beside-up recorded is untouched: same IDs and start, ports held, sites answering
	$(BESIDE) check

beside-down: ## remove the blocker beside-up started (never make run's wpinit)
	$(BESIDE) down

## ---- benchmarks --------------------------------------------------------------------------
.PHONY: bench-supervisor
bench-supervisor: $(WPINIT) ## wpinit vs Debian's supervisord: restart latency, RSS, idle CPU (about 90 s)
	@command -v supervisord >/dev/null || { apt-get update -qq && apt-get install -y -qq supervisor; }
	$(GO) run ./scripts/bench-supervisor --wpinit $(abspath $(WPINIT)) --supervisord "$$(command -v supervisord)"

## ---- instances ---------------------------------------------------------------------------
# Real engine, real images (wp-php, wp-mariadb, wp-nginx): the tests skip, saying which
# images are missing, when they are not loaded; instance-images builds them (cached).
.PHONY: instances-test
instances-test: engine tools images ## instances on the real engine: serve, isolate, add, change, repair, remove, restore and its rollback
	WPDIND_INTEGRATION=1 $(GO) test -count=1 -timeout 40m -v -run 'TestInstancesIntegration|TestArchivesIntegration|TestComposeExport|TestOpsIntegration|TestRestoreRollbackIntegration|TestInstallSecretsIntegration|TestPhpMyAdminIntegration|TestSiteTemplatesIntegration' \
		./pkg/instance/ ./pkg/reconciler/ ./pkg/phpmyadmin/

.PHONY: templates-test bench-templates bench-idle
templates-test: engine tools instance-images ## site templates on the real engine: two sites of one template share no secret, each admin logs in with its own password only, another core's template unused (about 2 min; in instances-test too)
	WPDIND_INTEGRATION=1 $(GO) test -count=1 -timeout 20m -v -run '^TestSiteTemplatesIntegration$$' ./pkg/reconciler/

bench-templates: engine tools instance-images ## a new site with and without its kind's template, 3 tries each, medians on one line (about 4 min)
	@mkdir -p $(BIN)
	WPDIND_BENCH=1 $(GO) test -count=1 -timeout 30m -v -run '^TestBenchTemplates$$' ./pkg/reconciler/ > $(BIN)/bench-templates.log 2>&1 \
		|| { tail -n 60 $(BIN)/bench-templates.log; exit 1; }
	@grep '^bench:' $(BIN)/bench-templates.log
	@grep '^add_one_install_s=' $(BIN)/bench-templates.log | tail -n 1

bench-idle: engine tools instance-images ## two sites as conf/instances.toml has them: idle memory per container after 60 s, warm front-page TTFB (about 3 min)
	@mkdir -p $(BIN)
	WPDIND_BENCH=1 $(GO) test -count=1 -timeout 30m -v -run '^TestBenchIdle$$' ./pkg/reconciler/ > $(BIN)/bench-idle.log 2>&1 \
		|| { tail -n 60 $(BIN)/bench-idle.log; exit 1; }
	@grep '^bench:' $(BIN)/bench-idle.log
	@grep '^idle_db_mib=' $(BIN)/bench-idle.log | tail -n 1

# bench-density's peer, WordPress Playground's CLI (pinned in scripts/bench-density), in the
# build cache: about 600 MB of node_modules, installed once.
PLAYGROUND_DIR := $(if $(WP_DIND_CACHE),$(WP_DIND_CACHE),.cache)/node/bench-density
.PHONY: playground-deps bench-density
playground-deps: ## @wp-playground/cli (pinned) for bench-density's peer, when missing
	@if ! cmp -s scripts/bench-density/package-lock.json $(PLAYGROUND_DIR)/package-lock.json || [ ! -x $(PLAYGROUND_DIR)/node_modules/.bin/wp-playground-cli ]; then \
		mkdir -p $(PLAYGROUND_DIR) && cp scripts/bench-density/package.json scripts/bench-density/package-lock.json $(PLAYGROUND_DIR)/ && \
		(cd $(PLAYGROUND_DIR) && npm ci --no-audit --no-fund --loglevel=error) || echo "playground-deps: npm failed: bench-density runs without its peer"; fi

bench-density: engine tools images save-images playground-deps ## wp-dind with 99 sites (8000-8099 but 8080): save to all serving, idle memory per site, wpinit RSS, no-op pass, removal of 90, a new site with and without its template, and Playground's CLI as the peer (about 40 min; heavy: run it alone)
	@mkdir -p $(BIN)
	WPDIND_BENCH_DENSITY=1 WPDIND_PLAYGROUND_DIR=$(abspath $(PLAYGROUND_DIR)) $(GO) test -count=1 -timeout 120m -v -run '^TestBenchDensity$$' ./images/ > $(BIN)/bench-density.log 2>&1 \
		|| { tail -n 60 $(BIN)/bench-density.log; exit 1; }
	@grep -E '^ +density_bench_test.go:[0-9]+: |^ +playground_bench_test.go:[0-9]+: ' $(BIN)/bench-density.log | sed -E 's/^ +[a-z_]+_test.go:[0-9]+: /bench: /'
	@grep -E '^bench:' $(BIN)/bench-density.log
	@grep '^playground_new_site_s=' $(BIN)/bench-density.log | tail -n 1
	@grep '^new_site_s=' $(BIN)/bench-density.log | tail -n 1

.PHONY: bench-reconcile
bench-reconcile: engine tools instance-images ## time one and ten new instances, a 100-instance no-op pass, ten with docker-compose one by one
	@mkdir -p $(BIN)
	WPDIND_BENCH=1 $(GO) test -count=1 -timeout 90m -v -run TestBenchReconcile ./pkg/reconciler/ > $(BIN)/bench-reconcile.log 2>&1 \
		|| { tail -n 60 $(BIN)/bench-reconcile.log; exit 1; }
	@grep '^bench:' $(BIN)/bench-reconcile.log
	@grep '^add_one_s=' $(BIN)/bench-reconcile.log | tail -n 1

## ---- dashboard -----------------------------------------------------------------------
# The browser test drives Debian's chromium with playwright-core from npm, pinned by
# scripts/dashboard-test/package-lock.json and installed under .cache/node (never a browser
# download: no `npx playwright install`). Screenshots are kept in bin/artifacts/.
.PHONY: browser-deps dashboard-test bench-dashboard
NODE_DIR := .cache/node/dashboard-test

browser-deps: ## Debian's chromium and the pinned playwright-core, when missing
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@if ! cmp -s scripts/dashboard-test/package-lock.json $(NODE_DIR)/package-lock.json || [ ! -d $(NODE_DIR)/node_modules/playwright-core ]; then \
		mkdir -p $(NODE_DIR) && cp scripts/dashboard-test/package.json scripts/dashboard-test/package-lock.json $(NODE_DIR)/ && \
		(cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error); fi

dashboard-test: engine tools browser-deps images save-images ## the dashboard on the real product: a browser test (two sites, links, Xdebug, backup, kill -9), promtool on /metrics, its port closed to instances (about 4 min)
	WPDIND_DASHBOARD=1 WPDIND_PLAYWRIGHT_DIR=$(abspath $(NODE_DIR)) $(GO) test -count=1 -timeout 30m -v -run '^TestDashboard$$' ./images/

bench-dashboard: engine tools images save-images ## 20 sites, a page open: wpinit's CPU over 60 s and a /metrics scrape (median of 20), on one line (about 12 min)
	@mkdir -p $(BIN)
	WPDIND_BENCH_DASHBOARD=1 $(GO) test -count=1 -timeout 60m -v -run '^TestBenchDashboard$$' ./images/ > $(BIN)/bench-dashboard.log 2>&1 \
		|| { tail -n 60 $(BIN)/bench-dashboard.log; exit 1; }
	@grep -E '^ +dashboard_bench_test.go:[0-9]+: ' $(BIN)/bench-dashboard.log | sed -E 's/^ +dashboard_bench_test.go:[0-9]+: /bench: /'
	@grep '^wpinit_cpu_pct=' $(BIN)/bench-dashboard.log | tail -n 1

## ---- site data (issue 14) ----------------------------------------------------------------
# The real engine and images, in a world of their own (owner, ports, networks): beside make run.
.PHONY: data-test bench-data
data-test: engine tools images save-images ## site data on the real engine: snapshots (restore, a restore killed halfway, another server refused), export/import with --replace-url, clones, backup --all, a schedule with keep, restore --all on a fresh root, MySQL 9.7 on PHP 7.4/8.2/8.4; then in wp-dind: docker exec -i ctl db import, MySQL with phpMyAdmin, backup, snapshot (about 12 min)
	WPDIND_INTEGRATION=1 $(GO) test -count=1 -timeout 40m -v -run 'TestDataIntegration|TestBackupsAllIntegration|TestMySQLIntegration' ./pkg/reconciler/
	WPDIND_DATA_E2E=1 $(GO) test -count=1 -timeout 30m -v -run '^TestDataEndToEnd$$' ./images/

bench-data: engine tools instance-images ## a site with a 1 GB database: snapshot, its restore, logical backup and restore, import, clone, on one line (about 15 min)
	@mkdir -p $(BIN)
	WPDIND_BENCH=1 $(GO) test -count=1 -timeout 90m -v -run '^TestBenchData$$' ./pkg/reconciler/ > $(BIN)/bench-data.log 2>&1 \
		|| { tail -n 60 $(BIN)/bench-data.log; exit 1; }
	@grep -E '^ +bench_data_test.go:[0-9]+: ' $(BIN)/bench-data.log | sed -E 's/^ +bench_data_test.go:[0-9]+: /bench: /'
	@grep '^snapshot_1g_s=' $(BIN)/bench-data.log | tail -n 1
