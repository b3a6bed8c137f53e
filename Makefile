# hoist: a BuildKit Dockerfile frontend. See README.md.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X github.com/hoistbuild/hoist/internal/version.Version=$(VERSION) \
            -X github.com/hoistbuild/hoist/internal/version.Revision=$(REVISION)
# Packages that need no daemon: everything but the end-to-end tests.
UNIT_PKGS = $(shell $(GO) list ./... | grep -v '/test/e2e$$')

.PHONY: build test unit e2e image demo clean bench bench-resolve

build:
	$(GO) build ./...
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

# Everything, end-to-end tests against a real buildkitd included (needs root
# and overlayfs; they skip without them unless CI=true). -count=1: the e2e
# results depend on the daemon, images and frontend image, which go test's
# cache does not see.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 80m ./...

unit:
	$(GO) vet ./...
	$(GO) test $(UNIT_PKGS)

e2e:
	$(GO) test -count=1 -timeout 80m -v ./test/e2e/

# The frontend image, with your buildx builder (see docker-bake.hcl for tags).
image:
	VERSION=$(VERSION) REVISION=$(REVISION) docker buildx bake frontend

# Sets up registry + buildkitd + buildx, builds examples/go-app through hoist.
demo:
	$(GO) run ./test/testbed/cmd/hoist-demo

# Side-by-side timings of the examples (naive Dockerfile through the stock
# frontend and through hoist, Dockerfile.optimized through the stock
# frontend; cold, one-line edit, dependency change) on a private test bed.
# Takes long: EXAMPLES=go-app,node-npm limits it, REPS sets the repetitions,
# BENCH_OUT keeps results.md and the logs (default: a temporary directory).
# CI_CACHE=1 adds the CI cache rows (HOIST_CACHE_FROM on a fresh builder).
# VARIANTS=naive-stock,naive-hoist,naive-hoist-mounts picks the variants.
# NPM_MIRROR=1 serves the npm registry from a caching mirror on 127.0.0.1.
EXAMPLES ?=
REPS     ?= 3
bench:
	$(GO) run ./test/bench -reps $(REPS) $(if $(EXAMPLES),-examples $(EXAMPLES)) $(if $(BENCH_OUT),-out $(BENCH_OUT)) $(if $(CI_CACHE),-ci-cache) $(if $(VARIANTS),-variants $(VARIANTS)) $(if $(NPM_MIRROR),-npm-mirror)

# FROM resolution behind a registry that answers every request after 1 s:
# builds of 1 and of 10 images, through hoist (the slow registry as a
# mirror) and stock, on the default buildkitd and on one allowing 16
# fetches per registry; REPS iterations each.
bench-resolve:
	$(GO) test -count=1 -run '^$$' -bench ResolveLatency -benchtime $(REPS)x ./test/e2e/

clean:
	rm -rf bin/
