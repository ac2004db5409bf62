# Synapse developer loop. `make run` and `make test` are the quick start; `make check` is what
# to run before pushing. Everything a target needs is fetched by the target itself.

GO          ?= go
GOFLAGS     ?=
BIN         := bin/synapse
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
RUN_FLAGS   ?=
TEST_FLAGS  ?=
PKGS        := ./...

export GOFLAGS

.PHONY: all build run test bench microbench lint vet check fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/synapse

## run: the engine on the bundled real Binance data, UI on http://127.0.0.1:8080
run: build
	./$(BIN) run $(RUN_FLAGS)

## test: every test with the race detector, never cached
test:
	$(GO) test -race -count=1 -timeout 20m $(TEST_FLAGS) $(PKGS)

## bench: the load scenarios (figures beside same-run baselines), then the micro-benchmarks
bench: build
	./$(BIN) bench all
	$(MAKE) microbench

microbench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 200ms ./actors/... ./streams/...

## fuzz: a short run of every fuzz target (the seeds also run in `make test`)
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 10s $$pkg || exit 1; \
	  done; \
	done

vet:
	$(GO) vet $(PKGS)

## lint: gofmt, go vet and a pinned staticcheck
lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run $(STATICCHECK) $(PKGS)

## check: lint, vet and tests
check: lint test

clean:
	rm -rf bin data
