# Verdict. `make run` serves ./policies in development mode; `make test` runs every test.
GO      ?= go
BIN     := bin/verdict
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
COVERAGE_THRESHOLD ?= 90
FUZZTIME ?= 50000x
# ADDR is the address `make run` listens on: make run ADDR=127.0.0.1:9000. Empty keeps the
# configured server.addr (127.0.0.1:8181 by default).
ADDR ?=

.PHONY: all build run test test-unit test-rego test-e2e fuzz bundle lint bench bench-memory load load-extauthz bench-load token-memory clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/verdict

run: build
	./$(BIN) serve --dev $(if $(ADDR),--addr $(ADDR))

test: lint test-unit test-rego test-e2e fuzz

# The decision cache's exactness test also runs in full (10,000 requests) without -race, which
# would slow it tenfold.
test-unit:
	$(GO) test -race -count=1 ./pdp/... ./cmd/...
	$(GO) test -count=1 -run '^TestDecisionCacheExact$$' ./pdp/httpapi/

# Rego unit tests, run twice: by Verdict (with the coverage gate) and by OPA itself, so the
# policies stay plain Rego.
test-rego: build
	./$(BIN) test policies --threshold $(COVERAGE_THRESHOLD)
	$(GO) tool opa test policies

test-e2e: build
	VERDICT_BIN=$(abspath $(BIN)) $(GO) test -race -count=1 ./tests/...

# Brief runs of every fuzz target, a count of executions each: a duration races Go's fuzzing
# coordinator at its deadline and can fail with "context deadline exceeded" having found nothing
# (golang/go#75804, fixed in Go 1.27). Longer runs: make fuzz FUZZTIME=5m.
fuzz:
	@set -e; for f in $$(grep -l '^func Fuzz' $$(find pdp -name '*_test.go')); do \
		for t in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | cut -d' ' -f2); do \
			echo "fuzz $$t (./$$(dirname $$f))"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) ./$$(dirname $$f); \
		done; \
	done

bundle: build
	./$(BIN) bundle build policies -o bundles/verdict.tar.gz

# Rego is formatted and checked by the binary itself (verdict fmt, verdict check: OPA's
# formatter and strict compiler), as a user without Go or opa would.
lint: build
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	./$(BIN) fmt --list --fail policies
	./$(BIN) check --strict policies

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pdp/...

# Heap per MB of bundle data.json during and after activation (docs/performance.md).
bench-memory:
	$(GO) test -run '^$$' -bench BenchmarkActivateData -benchtime 1x ./pdp/bundle/

# A bounded load run (10 s) against a development server on a free loopback port.
load: build
	tests/load/run.sh $(abspath $(BIN)) 10s 16

# Forward auth over HTTP (Envoy's HTTP ext_authz convention) and over gRPC ext_authz, 10 s each,
# the server on CPU 0 and the generator on CPU 1 (LOAD_PIN).
load-extauthz: build
	LOAD_PIN=1 tests/load/run.sh $(abspath $(BIN)) 10s 16 -api forward-auth
	LOAD_PIN=1 tests/load/run.sh $(abspath $(BIN)) 10s 16 -api grpc

# Memory under many distinct tokens (docs/performance.md): 200,000 tokens of about 400 bytes,
# then 40,000 of about 6 KB, each presented once to a fresh development server; a few minutes.
token-memory: build
	tests/load/run.sh $(abspath $(BIN)) 600s 8 -distinct 200000 -token-bytes 400
	tests/load/run.sh $(abspath $(BIN)) 600s 8 -distinct 40000 -token-bytes 6000

# Verdict side by side with a floor server, the floor plus RS256, and OPA's server, each alone
# on CPU 0 with the load generator (wrk) on CPU 1: one table, under 5 minutes.
bench-load: build
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	tests/benchload/run.sh $(abspath $(BIN))

clean:
	rm -rf bin bundles/*.tar.gz
