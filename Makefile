# pipe: developer and CI entry points. `make test` is the project's one test
# command (CI runs it through .ci/run).

GO      ?= go
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin

# Version info, injected into internal/cli like goreleaser does (goreleaser.yaml).
# VERSION drops the tag's leading "v", as goreleaser's {{.Version}} does.
VERSION ?= $(patsubst v%,%,$(shell git describe --tags --always --dirty 2>/dev/null || echo dev))
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo none)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
CLI_PKG := github.com/gitops-pipe/pipe/internal/cli
LDFLAGS  = -s -w -X $(CLI_PKG).Version=$(VERSION) -X $(CLI_PKG).Commit=$(COMMIT) -X $(CLI_PKG).Date=$(DATE)

# go test -timeout applies to each package's test binary; integration
# packages start real services, so leave them room within CI's 90 minutes.
TEST_TIMEOUT ?= 20m
TEST_FLAGS   ?=
FUZZTIME     ?= 30s

.DEFAULT_GOAL := build
.PHONY: build test lint schema fuzz install clean testenv-build dev-cluster dev-cluster-down dev-cloud dev-cloud-down

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/pipe ./cmd/pipe

# The fuzz targets of what reads untrusted input (configs, YAML aliases,
# notes) also run in `make test`, briefly (FUZZTIME_TEST each); `make fuzz`
# runs them longer.
FUZZTIME_TEST ?= 10s
FUZZ_TARGETS  := FuzzParseFile:./internal/config FuzzParseLambdaFunction:./internal/config FuzzCheckStream:./internal/yamlalias FuzzDecodeNote:./internal/state FuzzReadDefinition:./internal/platform/ecs FuzzParseManifest:./internal/platform/cloudrun FuzzDecryptKeyPair:./internal/sealed FuzzDecryptAge:./internal/sealed FuzzDecryptKMS:./internal/sealed FuzzYAML:./internal/fieldedit

test:
	$(GO) vet ./...
	$(GO) test -p 2 -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_TEST)

lint:
	@files="$$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -not -path './vendor/*')"; \
	unformatted="$$( [ -z "$$files" ] || gofmt -l $$files)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt needed on:"; echo "$$unformatted"; exit 1; \
	fi
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null 2>&1; then \
		echo staticcheck ./...; staticcheck ./...; \
	else \
		echo "staticcheck not installed, skipped (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2)"; \
	fi

# The JSON Schemas of the configuration kinds, generated from internal/config's
# types (internal/config/schemagen) into schema/, which the binary embeds.
schema:
	$(GO) run ./internal/config/schemagen/cmd -dir schema

# .ci/fuzz fails on a finding, not on Go 1.26's end-of-run deadline race.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} ($${t#*:}, $(FUZZTIME))"; \
		GO='$(GO)' .ci/fuzz "$${t%%:*}" "$${t#*:}" $(FUZZTIME); \
	done

install: build
	install -d '$(DESTDIR)$(BINDIR)'
	install -m 0755 bin/pipe '$(DESTDIR)$(BINDIR)/pipe'

clean:
	rm -rf bin dist

# The test binaries: the local Kubernetes control plane (internal/testenv/kube),
# OpenTofu and Terraform (internal/testenv/tfbin). They are built from the Go
# module proxy once into ${PIPE_TESTENV_CACHE:-${XDG_CACHE_HOME:-~/.cache}/pipe/testenv}
# (about 15 minutes the first time on 2 cores), then reused.
testenv-build:
	$(GO) run ./internal/testenv/cmd/testenv build

# dev-cluster starts one in the background and prints the line that points
# kubectl at it: eval "$(make -s dev-cluster)"; dev-cluster-down stops it.
dev-cluster:
	@$(GO) run ./internal/testenv/cmd/testenv up

dev-cluster-down:
	@$(GO) run ./internal/testenv/cmd/testenv down

# dev-cloud starts the local AWS emulator (Lambda, S3, STS, ECS, ELBv2;
# internal/testenv/awsemu) and the Cloud Run emulator (internal/testenv/runemu)
# in the background and prints the lines that point the AWS CLI and SDKs, and
# pipe's Cloud Run platform, at them: eval "$(make -s dev-cloud)"; dev-cloud-down
# stops them.
dev-cloud:
	@$(GO) run ./internal/testenv/cmd/testenv cloud-up

dev-cloud-down:
	@$(GO) run ./internal/testenv/cmd/testenv cloud-down

# demo: the README's walkthrough on the local control plane.
.PHONY: demo
demo:
	@examples/demo.sh

# demo-lambda: a LambdaApp's canary and rollback on the local AWS emulator.
.PHONY: demo-lambda
demo-lambda:
	@examples/demo-lambda.sh

# image: the container image (internal/release/image) as an OCI image layout
# in dist/image, from binaries built here for linux/amd64 and linux/arm64,
# without a Docker daemon. The base is pulled from its registry
# (image.DefaultBaseRef); IMAGE_BASE=scratch builds offline on an empty base
# plus this machine's CA bundle (no shell in it). Load it into Docker with
# `tar -C dist/image -c . | docker load` or copy it with
# `skopeo copy oci:dist/image:<version> ...`. image-test runs its tests.
IMAGE_BASE    ?=
IMAGE_CREATED ?= $(shell git log -1 --format=%cI 2>/dev/null)
.PHONY: image image-test
image:
	rm -rf dist/image dist/image-bin
	@set -e; for arch in amd64 arm64; do \
		echo "go build pipe for linux/$$arch"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/image-bin/linux_$$arch/pipe ./cmd/pipe; \
	done
	$(GO) run ./internal/release/image/cmd \
		--binary linux/amd64=dist/image-bin/linux_amd64/pipe \
		--binary linux/arm64=dist/image-bin/linux_arm64/pipe \
		--version '$(VERSION)' $(if $(filter-out none,$(COMMIT)),--revision '$(COMMIT)') \
		$(if $(IMAGE_CREATED),--created '$(IMAGE_CREATED)') \
		$(if $(IMAGE_BASE),--base '$(IMAGE_BASE)') \
		--oci-layout dist/image

image-test:
	PIPE_RELEASE_FULL=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./internal/release/image/...
