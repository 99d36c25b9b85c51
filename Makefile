# SockShell: `make run` builds (release) and starts the shell; `make test` runs every test.
# Both install the Debian packages they need first (scripts/debian-packages.txt).
PREFIX ?= /usr/local
SWIFT ?= swift

.PHONY: deps build release run test lint format install clean bench fuzz

deps:
	@sh scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	.build/release/sockshell

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest
	.build/debug/sockshell lesson test --lessons Lessons
	$(MAKE) --no-print-directory lint

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests

install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/sockshell/lessons
	install -m 755 .build/release/sockshell $(DESTDIR)$(PREFIX)/bin/sockshell
	install -m 644 Lessons/*.md $(DESTDIR)$(PREFIX)/share/sockshell/lessons/

clean:
	rm -rf .build

# Benchmarks (not part of make test): writes BENCHMARKS.md.
bench: release
	@sh scripts/install-deps.sh scripts/debian-packages-measure.txt
	bash scripts/bench.sh

# Fuzzing (not part of make test): libFuzzer targets in Tests/Fuzz, FUZZ_SECONDS each (default
# 600), then FUZZ_LINES random lines (default 100,000) and the hostile peers against the shell.
fuzz: release
	@sh scripts/install-deps.sh scripts/debian-packages-measure.txt
	bash scripts/fuzz.sh
