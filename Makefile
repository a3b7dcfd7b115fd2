# PolicyWatch: the two commands of the README, and a few more for developers.
.PHONY: serve test setup build lint format proto bench-cel bench-load bench-reevaluation fuzz sanitize

serve: setup  ## Build and run the service on 127.0.0.1:50051 (SQLite under ./data, rules in ./rules)
	swift build --product policywatch
	"$$(swift build --show-bin-path)/policywatch" serve --data-dir ./data --rules ./rules

test:  ## Install what is missing, lint, run the Swift tests and the Python interop suite
	scripts/test.sh

setup:  ## Install Debian packages and the Python virtualenv for the tests (idempotent)
	scripts/setup.sh

build:
	swift build

lint:
	scripts/format.sh --lint

format:
	scripts/format.sh

proto:  ## Regenerate Sources/PolicyWatchAPI/Generated from proto/
	scripts/generate-proto.sh

bench-cel:  ## CEL evaluation speed against cel-cpp and a Rust CEL (release build; docs/BENCHMARKS.md)
	scripts/bench-venv.sh
	.venv-bench/bin/python bench/cel_bench.py

bench-load:  ## h2load against Evaluate (stored, dry_run) and Health/Check, beside a grpc-go server (release build)
	scripts/setup.sh
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client golang-go golang-google-grpc-dev linux-perf >/dev/null
	swift build -c release --product policywatch
	.venv/bin/python bench/load/load_bench.py $(BENCH_ARGS)

bench-reevaluation:  ## Re-evaluation of 1,000 stored proposals under live load (release build)
	scripts/setup.sh
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client >/dev/null
	swift build -c release --product policywatch
	.venv/bin/python bench/load/reevaluation_bench.py $(BENCH_ARGS)

fuzz:  ## Build the libFuzzer targets (ASan) and run each for FUZZ_SECONDS (default 60); docs/SECURITY.md
	scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

sanitize:  ## The Swift tests under AddressSanitizer and ThreadSanitizer (own build directories)
	scripts/sanitize.sh
