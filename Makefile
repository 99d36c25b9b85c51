# SockShell: `make run` builds (release) and starts the shell; `make test` runs every test.
# Both install the Debian packages they need first (scripts/debian-packages.txt).
PREFIX ?= /usr/local
SWIFT ?= swift

.PHONY: deps build release run test lint format install clean bench fuzz man completions dist check-install

deps:
	@sh scripts/install-deps.sh

build: deps
	$(SWIFT) build

# The release build carries the Swift standard library and Foundation inside it: it runs where
# Swift is not installed (make dist).
RELEASE = -c release --static-swift-stdlib

release: deps
	$(SWIFT) build $(RELEASE)

run: release
	.build/release/sockshell

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest
	.build/debug/sockshell lesson test --lessons Lessons
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory check-install

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests

# The manual page, generated from the command line's own help (swift-argument-parser's
# generate-manual), and the completions the command line writes for bash, zsh and fish.
MANDATE := $(shell git log -1 --format=%cs 2>/dev/null || date +%F)

man: release
	$(SWIFT) build $(RELEASE) --product generate-manual
	mkdir -p .build/man
	.build/release/generate-manual .build/release/sockshell --date $(MANDATE) --output-directory .build/man

completions: release
	mkdir -p .build/completions
	.build/release/sockshell --generate-completion-script bash > .build/completions/sockshell.bash
	.build/release/sockshell --generate-completion-script zsh > .build/completions/_sockshell
	.build/release/sockshell --generate-completion-script fish > .build/completions/sockshell.fish

install: release man completions
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/sockshell/lessons \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 .build/release/sockshell $(DESTDIR)$(PREFIX)/bin/sockshell
	install -m 644 Lessons/*.md $(DESTDIR)$(PREFIX)/share/sockshell/lessons/
	install -m 644 .build/man/sockshell.1 $(DESTDIR)$(PREFIX)/share/man/man1/sockshell.1
	install -m 644 .build/completions/sockshell.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sockshell
	install -m 644 .build/completions/_sockshell $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sockshell
	install -m 644 .build/completions/sockshell.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sockshell.fish

# A self-contained tarball for a lab: the binary (Swift inside it), the lessons, the manual page
# and the completions, laid out as a prefix; it needs only libedit2, libcmark and libyaml.
DIST = sockshell-$(shell git describe --always --dirty 2>/dev/null || echo dev)-linux-$(shell uname -m)

dist: release man completions
	rm -rf .build/dist && mkdir -p .build/dist
	$(MAKE) --no-print-directory install PREFIX= DESTDIR=$(CURDIR)/.build/dist/$(DIST)
	install -m 644 scripts/dist-README.txt .build/dist/$(DIST)/README.txt
	tar -C .build/dist -czf .build/$(DIST).tar.gz $(DIST)
	@echo "sockshell: .build/$(DIST).tar.gz"

# make install into a scratch prefix and make dist, checked as a lab would use them (the tarball
# runs with the Swift toolchain's folder masked).
check-install:
	bash scripts/check-install.sh

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
