# Affinity: the two commands that matter are `make run` and `make test`.
GO      ?= go
BIN     := bin/affinity
DATA    ?= ./data
ADDR    ?= 127.0.0.1:8080
DEMO    := testdata/demo/online_retail_sample.csv.gz
SHARED  ?= ../shared/data
# Packages with goroutines and shared state run under the race detector.
# That pass is -short: the tests that only fill a disk or evaluate a whole data
# set (single goroutine, minutes under -race) already ran in the plain pass.
RACE_PKGS := ./features/... ./recommend/... ./api/... ./bench/... ./cluster/...

.PHONY: all build run cluster test test-race bench eval shapes fmt vet lint check-deps check-client check-cross fuzz test-browser test-ts clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/affinity

## run: build and serve on $(ADDR) with Badger under $(DATA), loading the demo set when empty.
## The demo's events are from 2010-11, so its config pins "now" to the newest event
## (recency, current value and windows then mean what they meant then); CONFIG= overrides.
CONFIG ?= testdata/demo/config.json
run: build
	./$(BIN) serve --addr $(ADDR) --data $(DATA) --demo $(DEMO) --config $(CONFIG)

## test: vet, import direction, a fresh generated client, unit + end-to-end tests (the api
## tests check every reply against api/openapi.yaml and lint it), race detector on concurrent packages,
## then the TypeScript client against live servers (SKIP_TS=1 leaves it out).
test: vet check-deps check-client
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race -short -timeout 20m $(RACE_PKGS)
	@if [ "$(SKIP_TS)" = "1" ]; then echo "test-ts skipped (SKIP_TS=1)"; else $(MAKE) --no-print-directory test-ts; fi

## test-ts: the TypeScript client (clients/typescript) built and tested with Node against live servers;
## installs Debian's nodejs and npm when missing.
test-ts:
	GO=$(GO) ./scripts/test-ts-client.sh

## bench: Go benchmarks of the hot paths, then a short load run against a live server.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=2s ./features/... ./recommend/... ./api/...
	./scripts/loadrun.sh $(BIN) $(SHARED)

## eval: offline quality on MovieLens-100K (item-stratified) and Online Retail (temporal):
## the self-tuning default, the untuned one, SAR and popularity.
eval: build
	./scripts/eval.sh $(BIN) $(SHARED)

## shapes: the default on data shaped unlike those two (sparse, play counts, 13k products).
shapes: build
	./scripts/shapes.sh $(BIN) $(SHARED)

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

## cluster: a local cluster demo: an embedded 3-server NATS JetStream cluster and 3 nodes on
## 127.0.0.1:8081-8083 (data under ./data-cluster), the demo data loaded once through the stream;
## prints curl lines for each node. Ctrl-C stops it all. See docs/cluster.md.
cluster: build
	./$(BIN) cluster-demo --data ./data-cluster --demo $(DEMO) --config $(CONFIG)

## check-deps: imports run one way, features <- recommend <- api <- cmd; the bench tools
## (bench/load, bench/eval, bench/synth) sit beside api, import none of each other, and only cmd imports them.
## features/similarity (the similarity maths) is a leaf that imports no Affinity package;
## features/crm (customer value, segments, rules) follows the store and imports only features, features/similarity, features/clv
## and features/background; features/background and features/leftover are leaves too.
check-deps:
	@$(GO) list -f '{{.ImportPath}}: {{join .Imports " "}}' ./... | awk ' \
	  $$1 ~ /\/features\/(similarity|background|leftover):$$/ {for (i = 2; i <= NF; i++) if ($$i ~ /^github\.com\/affinity-rec\/affinity(\/|$$)/) {print $$1 " is a leaf but imports " $$i; bad=1}} \
	  $$1 ~ /\/features\/crm:$$/ {for (i = 2; i <= NF; i++) if ($$i ~ /^github\.com\/affinity-rec\/affinity(\/|$$)/ && $$i !~ /\/affinity\/features(\/similarity|\/clv|\/background)?$$/) {print "features/crm may import only features, features/similarity, features/clv and features/background, not " $$i; bad=1}} \
	  /\/features(\/[^:]*)?: / && /gofiber/ {print "features imports fiber: " $$1; bad=1} \
	  /\/features(\/[^:]*)?: / && /affinity\/(recommend|api|bench)/ {print "features imports a higher layer: " $$1; bad=1} \
	  /\/recommend(\/[^:]*)?: / && (/gofiber/ || /dgraph-io\/badger/) {print "recommend imports fiber or badger: " $$1; bad=1} \
	  /\/recommend(\/[^:]*)?: / && /affinity\/(api|bench)/ {print "recommend imports a higher layer: " $$1; bad=1} \
	  /\/recommend: / && /affinity\/recommend\/(experiment|offer)/ {print "ranking imports the experiment or offer service: " $$1; bad=1} \
	  /\/api(\/[^:]*)?: / && /dgraph-io\/badger/ {print "api imports badger: " $$1; bad=1} \
	  /\/api(\/[^:]*)?: / && /affinity\/bench/ {print "api imports bench: " $$1; bad=1} \
	  /\/(features|recommend|api|bench)(\/[^:]*)?: / && /\/cmd\// {print "a library imports cmd/: " $$1; bad=1} \
	  /\/client: / && /affinity\/(features|recommend|api|bench|cmd)/ {print "the client imports the server: " $$1; bad=1} \
	  $$1 !~ /\/cmd\// {for (i = 2; i <= NF; i++) if ($$i ~ /affinity\/bench(\/|$$)/) { \
	    if ($$1 ~ /affinity\/bench\//) print "a bench tool imports another: " $$1 " " $$i; \
	    else print "only cmd/ may import bench: " $$1 " " $$i; \
	    bad=1}} \
	  END {exit bad}' && echo "import direction ok"

## check-client: the committed client/affinity.gen.go is what oapi-codegen (go.mod's tool) makes of api/openapi.yaml.
check-client:
	@tmp=$$(mktemp -d) && cd client && sed "s|^output: .*|output: $$tmp/affinity.gen.go|" oapi-codegen.yaml > $$tmp/config.yaml && \
	  $(GO) tool oapi-codegen -config $$tmp/config.yaml ../api/openapi.yaml && \
	  { diff -q affinity.gen.go $$tmp/affinity.gen.go >/dev/null || { echo "client/affinity.gen.go is stale: run go generate ./client/"; diff -u affinity.gen.go $$tmp/affinity.gen.go | head -40; rm -rf $$tmp; exit 1; }; } && \
	  rm -rf $$tmp && echo "generated client up to date"

## check-cross: the server builds for macOS and Windows too (developers run `make run` there),
## and the tests compile there (go vet type-checks them): crash and timing tests that need Unix
## signals, fifos or getrusage carry `//go:build unix`. Run by CI after the tests, which run on Linux.
check-cross:
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./...
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./...
	GOOS=windows GOARCH=amd64 $(GO) vet ./...
	@echo "darwin and windows builds ok; the tests compile for windows"

## fuzz: run every fuzz target for FUZZTIME each.
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## test-browser: the experiment report, the console (screenshots in artifacts/console/) and the TypeScript client
## in headless Chromium (installs Debian's chromium when missing).
test-browser:
	./scripts/test-browser.sh
	GO=$(GO) ./scripts/test-ts-client.sh --browser

clean:
	rm -rf bin
