# cfbench — the two commands a newcomer runs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
GO ?= go
STACK := deploy/local/stack
BIN := bin/cfbench
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT)
GOFILES = $(shell find . -name '*.go' -not -path './deploy/local/hydra/*' -not -path './bin/*')
# Integration tests get the local stack's coordinates from `stack env`.
WITH_STACK = eval "$$($(STACK) env)" && export CFBENCH_INTEGRATION=1 &&
FUZZTIME ?= 10s
DEMO_DURATION ?= 60s

.PHONY: all build prereqs test-prereqs test unit check vet fmt-check fuzz demo stack-up stack-up-tls stack-down stack-status bench clean

all: build

prereqs:
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is needed: https://go.dev/doc/install" >&2; exit 1; }
	@command -v gcc >/dev/null || { echo "installing gcc (cgo builds librdkafka's bindings)" >&2; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq gcc libc6-dev >/dev/null; }

# Test-only tools: headless Chromium for the HTML report test (Debian's package).
test-prereqs: prereqs
	@command -v chromium >/dev/null || { echo "installing chromium (HTML report test)" >&2; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

build: prereqs
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/cfbench

stack-up:
	$(STACK) up

# The stack plus its TLS instance (SASL_SSL Kafka, https Hydra, a local CA): what `make test` uses.
stack-up-tls:
	$(STACK) up --tls

stack-down:
	$(STACK) down

stack-status:
	$(STACK) status --tls

vet: prereqs
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l $(GOFILES))"; if [ -n "$$out" ]; then echo "gofmt needed:" >&2; echo "$$out" >&2; exit 1; fi

check: fmt-check vet

# Unit tests only (no stack): integration tests skip themselves.
unit: prereqs
	$(GO) test -count=1 ./...

# Everything: starts the local stack and its TLS instance (installing what is missing), then unit +
# integration tests.
# Packages run one at a time (-p 1): integration tests of different packages share the stack's
# movr tables and topics, and the fault tests restart its components.
test: test-prereqs stack-up-tls check
	$(WITH_STACK) $(GO) test -count=1 -p 1 -timeout 60m ./...
	$(MAKE) --no-print-directory fuzz

# Short, bounded fuzz runs of the parsers of untrusted input (seed corpora in testdata/fuzz).
fuzz: prereqs
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz

# The main job on the local stack: a one-minute run of the `local` profile, its summary, and an
# HTML report next to the result.
demo: build stack-up
	$(WITH_STACK) out=results/demo-$$(date -u +%Y%m%dT%H%M%SZ) && rc=0 && \
	  { ./$(BIN) run --profile local --duration $(DEMO_DURATION) --out $$out || rc=$$?; } && \
	  if [ -f $$out/result.json ]; then ./$(BIN) report --format html --out $$out $$out/result.json >/dev/null && \
	    echo "html report: $$out/result.html"; fi; exit $$rc

# Side-by-side performance (perf/, issue 9), one invocation on the local stack: decode+record vs
# encoding/json, consume vs a bare confluent-kafka-go loop vs Kafka's ConsumerPerformance, load vs
# pgbench, peak RSS of `cfbench consume` at 1M vs 5M messages, measurement fidelity. Prints the
# table and writes it to bench/RESULTS.md; CPU profiles go to perf/profiles. The pre-filled topics
# are produced once and reused. Quiet stack: CFBENCH_STATE_DIR=… CFBENCH_KAFKA_PORT=… make bench.
BENCH_FLAGS ?=
bench: build stack-up
	$(GO) build -o bin/cfbench-perf ./perf
	$(WITH_STACK) ./bin/cfbench-perf -cfbench $(BIN) -out bench/RESULTS.md -profile-dir perf/profiles $(BENCH_FLAGS)

clean:
	rm -rf bin
