# Synapse developer loop. `make run` and `make test` are the quick start; `make check` is what
# to run before pushing. Everything a target needs is fetched by the target itself.

GO          ?= go
GOFLAGS     ?=
BIN         := bin/synapse
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
RUN_FLAGS   ?=
TEST_FLAGS  ?=
BENCH_FLAGS ?=
MICROBENCH_FLAGS ?=
PKGS        := ./...
ORT_VERSION := 1.24.1
ORT_LIB     := .cache/onnxruntime/libonnxruntime.so.1
# ONNX Runtime for NVIDIA GPUs (CUDA 13, cuDNN 9): the core library of onnxruntime-node, which
# is built to load the CUDA provider, and the CUDA provider of the same release (1.29.0)
# from the npm package of onnxruntime-unity. Fetched only by `make onnxruntime-gpu`.
ORT_GPU_VERSION  := 1.29.0
ORT_GPU_PROVIDER := com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
ORT_GPU_DIR      := .cache/onnxruntime-gpu

export GOFLAGS

.PHONY: all build run test bench microbench lint vet check fuzz clean onnxruntime onnxruntime-gpu ui ui-check e2e

all: build

build: ui
	$(GO) build -o $(BIN) ./cmd/synapse

## ui: the web UI (web/uisrc, TypeScript) bundled by esbuild into web/ui, which is committed so
## that `go build` works without npm; rebuilt only when a source is newer than the build.
UI_SRC := $(shell find web/uisrc -name node_modules -prune -o -type f -print 2>/dev/null)

ui: web/ui/SOURCES.sha256

web/ui/SOURCES.sha256: $(UI_SRC)
	@if command -v npm >/dev/null; then \
	  cd web/uisrc && npm ci --no-audit --no-fund --loglevel=error && node build.mjs; \
	else \
	  echo "npm not found: keeping the committed web/ui build (go test ./web says whether it is current)"; \
	fi

## ui-check: type-check the UI sources and check the committed web/ui was built from them
ui-check:
	cd web/uisrc && npm ci --no-audit --no-fund --loglevel=error && npx tsc --noEmit -p .
	$(GO) test -count=1 -run 'TestUI' ./web

## e2e: the UI in headless Chromium against a real engine replaying the bundled data
e2e: build $(ORT_LIB)
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	cd web/e2e && npm ci --no-audit --no-fund --loglevel=error
	node web/e2e/run.mjs

## onnxruntime: ONNX Runtime's CPU library, from the npm package onnxruntime-node, into .cache
onnxruntime: $(ORT_LIB)

$(ORT_LIB):
	@command -v npm >/dev/null || { echo "npm is needed to fetch ONNX Runtime: apt-get install npm"; exit 1; }
	mkdir -p .cache/onnxruntime/pack
	cd .cache/onnxruntime/pack && npm pack --silent onnxruntime-node@$(ORT_VERSION) >/dev/null
	tar -xzf .cache/onnxruntime/pack/onnxruntime-node-$(ORT_VERSION).tgz -C .cache/onnxruntime/pack package/bin/napi-v6/linux/x64/libonnxruntime.so.1
	mv .cache/onnxruntime/pack/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 $(ORT_LIB)
	rm -rf .cache/onnxruntime/pack

## onnxruntime-gpu: ONNX Runtime with its CUDA provider (about 220 MB), into .cache, for
## --inference-ep cuda --onnxruntime-lib .cache/onnxruntime-gpu/libonnxruntime.so.1
onnxruntime-gpu: $(ORT_GPU_DIR)/libonnxruntime_providers_cuda.so

$(ORT_GPU_DIR)/libonnxruntime_providers_cuda.so:
	@command -v npm >/dev/null || { echo "npm is needed to fetch ONNX Runtime: apt-get install npm"; exit 1; }
	rm -rf $(ORT_GPU_DIR) && mkdir -p $(ORT_GPU_DIR)/pack
	cd $(ORT_GPU_DIR)/pack && npm pack --silent onnxruntime-node@$(ORT_GPU_VERSION) $(ORT_GPU_PROVIDER) >/dev/null
	tar -xzf $(ORT_GPU_DIR)/pack/onnxruntime-node-$(ORT_GPU_VERSION).tgz -C $(ORT_GPU_DIR)/pack package/bin/napi-v6/linux/x64/libonnxruntime.so.1
	tar -xzf $(ORT_GPU_DIR)/pack/com.github.asus4.onnxruntime.linux-x64-gpu-*.tgz -C $(ORT_GPU_DIR)/pack package/Plugins/Linux/x64/libonnxruntime_providers_shared.so package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so
	mv $(ORT_GPU_DIR)/pack/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 $(ORT_GPU_DIR)/pack/package/Plugins/Linux/x64/*.so $(ORT_GPU_DIR)/
	rm -rf $(ORT_GPU_DIR)/pack

## run: the engine on the bundled real Binance data, UI on http://127.0.0.1:8080
run: build $(ORT_LIB)
	./$(BIN) run $(RUN_FLAGS)

## test: every Go test with the race detector, never cached, then the browser tests
test: $(ORT_LIB)
	$(GO) test -race -count=1 -timeout 20m $(TEST_FLAGS) $(PKGS)
	$(MAKE) e2e

## bench: the load scenarios (figures beside same-run baselines), then the micro-benchmarks
bench: build $(ORT_LIB)
	./$(BIN) bench all $(BENCH_FLAGS)
	$(MAKE) microbench

## microbench: `go test -bench` beside the hot code (decoders, indicators, order book, batcher,
## risk gate, paper exchange); MICROBENCH_FLAGS='-count 10' gives benchstat enough samples
microbench: $(ORT_LIB)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 200ms $(MICROBENCH_FLAGS) ./actors/... ./streams/... ./inference/... ./portfolio/... ./web/...

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
