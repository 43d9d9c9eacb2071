# ctkit: the two set-up commands.
#   make demo   build (release) and replay a capture in which the table fills
#   make test   build and run the whole test suite through CTest
# Both first make sure the Debian packages they need are installed: as root
# they install what is missing with apt-get; otherwise they print the exact
# apt-get line and stop.

SHELL := /bin/bash
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# Build tools and libraries (all from Debian 12).
PACKAGES := cmake ninja-build g++ pkg-config libpcap-dev libfmt-dev \
            libcli11-dev nlohmann-json3-dev libexpected-dev libgtest-dev \
            libbenchmark-dev libmnl-dev libssl-dev zlib1g-dev iproute2 \
            nftables clang libclang-rt-14-dev groff-base conntrack tcpdump \
            ethtool libcpp-httplib-dev prometheus libyaml-cpp-dev libcrypt-dev \
            libncurses-dev tmux chromium fonts-dejavu-core iputils-ping

DEMO_DIR := build/demo
DEMO_CAPTURE := $(DEMO_DIR)/demo.pcap

# fuzz-smoke: every libFuzzer target for FUZZ_SECONDS, two at a time, from
# its committed seed corpus (new inputs go to a scratch directory).
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := decode capture sysctl engine ctnetlink doctor web_config kmsg \
                history

.PHONY: all deps build build-ctkit demo screenshots test test-unit test-asan test-tsan fuzz-smoke bench clean \
        format tidy

all: build

deps:
	@missing=""; \
	for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends $$missing; \
	  else \
	    echo "missing Debian packages; run as root:"; \
	    echo "  apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

# Only the ctkit binary (what demo, fidelity and bench run), not the tests.
build-ctkit: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target ctkit

# A freshly generated mix of web sessions, DNS, pings and a SYN flood,
# replayed with a table too small for it: the report shows when the table
# filled, the drops, and what the table held at the peak. Then the same
# capture under larger limits and the (not Linux) adaptive timeouts, to see
# which setting would have kept it. Both also write an HTML report with
# charts, a self-contained file to open in any browser.
DEMO_SMALL := --sysctl net.netfilter.nf_conntrack_max=8192 \
              --sysctl net.netfilter.nf_conntrack_buckets=8192
demo: build-ctkit
	@mkdir -p $(DEMO_DIR)
	build/release/ctkit gen mixed --flows 60000 --rate 4000 --seed 42 \
	  -o $(DEMO_CAPTURE)
	build/release/ctkit replay $(DEMO_CAPTURE) $(DEMO_SMALL) \
	  --html $(DEMO_DIR)/replay.html
	build/release/ctkit whatif $(DEMO_CAPTURE) $(DEMO_SMALL) \
	  --vary nf_conntrack_max=8192,32768,65536 --adaptive 60,100 \
	  --html $(DEMO_DIR)/whatif.html
	@echo
	@echo "demo: the HTML reports, with charts (open them in a browser):"
	@echo "  $(CURDIR)/$(DEMO_DIR)/replay.html"
	@echo "  $(CURDIR)/$(DEMO_DIR)/whatif.html"

# The README's screenshots (docs/images/) from the demo's HTML reports,
# rendered by headless Chromium as the html_reports test renders them.
screenshots: demo
	python3 tests/report/render.py --shoot $(DEMO_DIR)/replay.html \
	  docs/images/demo-replay.png 1100 1700
	python3 tests/report/render.py --shoot $(DEMO_DIR)/whatif.html \
	  docs/images/demo-whatif.png 1100 1250

# The whole suite, then the whole suite again under ASan+UBSan (any report
# fails it; but for exporter_alerts, a minute and a half of Prometheus
# evaluating rules, whose exporter code exporter_live and exporter_scale
# run under ASan already), the threaded tests under TSan (any report fails
# them), then a bounded run of every fuzzer.
test: test-unit test-asan test-tsan fuzz-smoke

test-unit: deps
	cmake --preset ci >/dev/null
	cmake --build --preset ci -j $(JOBS)
	ctest --preset ci -j $(JOBS)

test-asan: deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --preset asan -j $(JOBS)

# Only the test binaries holding the threaded tests (engine threads, the
# replay read-ahead, the whatif pool, the exporter's HTTP front and the
# flight recorder's thread) are built, with clang, which also checks the
# lock annotations (-Wthread-safety -Werror); the test preset picks the
# threaded tests.
test-tsan: deps
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --preset tsan -j $(JOBS)

fuzz-smoke: deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)
	@scratch=$$(mktemp -d); trap 'rm -rf $$scratch' EXIT; \
	for t in $(FUZZ_TARGETS); do echo $$t; done | \
	  xargs -P 2 -I{} sh -c 'mkdir -p '"$$scratch"'/{} && \
	    build/fuzz/{}_fuzzer -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	      -artifact_prefix=build/fuzz/{}- '"$$scratch"'/{} fuzz/corpus/{} \
	      >'"$$scratch"'/{}.log 2>&1 && \
	    echo "fuzz-smoke: {}: $$(tail -1 '"$$scratch"'/{}.log)" || \
	    { echo "fuzz-smoke: {} FAILED"; tail -60 '"$$scratch"'/{}.log; \
	      exit 1; }'

bench: build-ctkit
	build/release/ctkit bench

format:
	find include src tools tests bench -name '*.h' -o -name '*.cc' | \
	  xargs clang-format -i

# clang-tidy with .clang-tidy's checks over every translation unit of the
# ci build (its compile_commands.json); any finding fails.
tidy: deps
	@command -v run-clang-tidy >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq clang-tidy; \
	  else echo "missing Debian package; run as root: apt-get install -y clang-tidy"; exit 1; fi; }
	cmake --preset ci >/dev/null
	run-clang-tidy -p build/ci -j $(JOBS) -quiet \
	  '$(CURDIR)/(src|tools|include|bench|fuzz|testing|examples)/'

clean:
	rm -rf build

# The fidelity table: every capture in tests/fidelity/ through ctkit and
# compared with the kernel's recorded result (FIDELITY_LIVE=1 re-runs the
# kernel live; needs root).
fidelity: build-ctkit
	python3 tests/fidelity/fidelity.py build/release/ctkit $(if $(FIDELITY_LIVE),--live)
