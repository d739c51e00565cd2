# ami: build, test, demo, install.  `make` builds build/ami; `make help` lists the targets.
#
# Every source file in src/ is compiled; src/main.c is the program's entry point and the
# rest form the engine that the unit tests link against.  Flags are recorded in
# $(BUILD)/.flags so that switching SANITIZE=1 on or off rebuilds everything.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= cc
SANITIZE ?= 0
CFLAGS   ?= -O2 -g
V        ?= 0
ifeq ($(V),0)
  Q := @
  say = @echo '  $(1)'
else
  Q :=
  say = @:
endif

# Debian 12 ships msgpack-c 4 as pkg-config "msgpack"; newer releases call it "msgpack-c".
MSGPACK_PC := $(shell pkg-config --exists msgpack-c 2>/dev/null && echo msgpack-c || echo msgpack)
PKGS       := $(MSGPACK_PC) libuv libcurl libcjson sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wno-format-nonliteral -Wvla
DEFS := -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -DAMI_VERSION='"$(VERSION)"'
ALL_CFLAGS  := -std=c11 $(WARN) $(DEFS) -Iinclude $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS)
ifeq ($(SANITIZE),1)
  SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  ALL_CFLAGS  += $(SAN)
  ALL_LDFLAGS += $(SAN)
endif
LIBS := $(PKG_LIBS) -lm

SRCS       := $(sort $(wildcard src/*.c))
OBJS       := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB_OBJS   := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps deps-check test test-unit test-cli test-nvim demo demo-cli clean install uninstall \
        format format-check lint help fuzz fuzz-build sanitized bench bench-c FORCE

all: deps-check $(BUILD)/ami

help:
	@echo 'make              build build/ami'
	@echo 'make demo         install what is missing, build, open Neovim on a sample note and critique it'
	@echo 'make demo-cli     the same critique from the command line'
	@echo 'make test         install what is missing, build, run every test suite'
	@echo 'make SANITIZE=1   the same targets built with ASan + UBSan'
	@echo 'make install PREFIX=DIR   install the binary, plugin, Lua and docs'
	@echo 'make bench        measure the editor while answers stream (bench/results.md; BENCH_ARGS=--quick)'
	@echo 'make format | format-check | lint | clean'

deps:
	@scripts/deps.sh test

deps-check:
	@scripts/deps.sh --check build

$(BUILD)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)' | cmp -s - $@ || \
	  echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)' > $@

$(BUILD)/obj/%.o: src/%.c $(BUILD)/.flags
	@mkdir -p $(@D)
	$(call say,CC      $<)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/ami: $(OBJS)
	$(call say,LINK    $@)
	$(Q)$(CC) $(ALL_LDFLAGS) $(OBJS) -o $@ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(BUILD)/.flags
	@mkdir -p $(@D)
	$(call say,TEST    $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $< $(LIB_OBJS) -o $@ $(ALL_LDFLAGS) $(LIBS)

# The README's test command: installs what is missing, builds, runs every suite (unit, CLI,
# Neovim on 0.7.2 and the newer versions Debian's trixie and sid carry, a real llama.cpp server,
# Neovim's TUI in tmux), runs them again against an ASan+UBSan build, smoke-tests every fuzzer
# for FUZZ_TIME seconds, and ends with "N passed, N failed".
SAN_BUILD ?= $(BUILD)/san
FUZZ_BUILD ?= $(BUILD)/fuzz
FUZZ_TIME ?= 30
test: deps
	@$(MAKE) --no-print-directory $(BUILD)/ami $(UNIT_BINS)
	@$(MAKE) --no-print-directory sanitized
	@$(MAKE) --no-print-directory fuzz-build
	@BUILD=$(BUILD) SAN_BUILD=$(SAN_BUILD) FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_TIME=$(FUZZ_TIME) \
	  tests/run.sh style unit cli nvim llama tui san fuzz

# The same binary and unit tests built with AddressSanitizer and UndefinedBehaviorSanitizer.
sanitized:
	@$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) SANITIZE=1 $(SAN_BUILD)/ami \
	  $(UNIT_SRCS:tests/unit/%.c=$(SAN_BUILD)/tests/%)

# libFuzzer targets (clang): tests/fuzz/fuzz_*.c, each linked against the engine built with
# coverage and sanitizers.  `make fuzz` runs each for FUZZ_TIME seconds (default 60 here) on a
# copy of its seed corpus; a crash leaves its input in $(FUZZ_BUILD)/artifacts.
FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_OBJS  := $(LIB_OBJS:$(BUILD)/obj/%.o=$(FUZZ_BUILD)/obj/%.o)

$(FUZZ_BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(call say,FUZZCC  $<)
	$(Q)$(FUZZ_CC) -std=c11 $(DEFS) -Iinclude $(PKG_CFLAGS) $(FUZZ_FLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(call say,FUZZ    $@)
	$(Q)$(FUZZ_CC) -std=c11 $(DEFS) -Iinclude $(PKG_CFLAGS) -g -O1 \
	  -fsanitize=fuzzer,address,undefined $< $(FUZZ_OBJS) -o $@ $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_TIME=$(if $(filter command line,$(origin FUZZ_TIME)),$(FUZZ_TIME),60) \
	  tests/run.sh fuzz

# Micro-benchmarks of the pure text functions (bench/bench_*.c, linked against the engine):
# each prints its median timings; `make bench` runs them too.
BENCH_C_SRCS := $(sort $(wildcard bench/bench_*.c))
BENCH_C_BINS := $(BENCH_C_SRCS:bench/%.c=$(BUILD)/bench/%)

$(BUILD)/bench/%: bench/%.c $(LIB_OBJS) $(BUILD)/.flags
	@mkdir -p $(@D)
	$(call say,BENCH   $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $< $(LIB_OBJS) -o $@ $(ALL_LDFLAGS) $(LIBS)

bench-c: deps-check $(BENCH_C_BINS)
	@for b in $(BENCH_C_BINS); do $$b || exit 1; done

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/ami $(BENCH_C_BINS)
	@scripts/debian-fetch.sh sid $(BUILD)/debian/sid neovim >/dev/null 2>&1 || \
	  echo 'bench: Neovim from Debian sid could not be fetched; measuring the system Neovim only'
	@python3 bench/run.py $(BENCH_ARGS)

test-unit test-cli test-nvim: deps-check $(BUILD)/ami $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run.sh $(@:test-%=%)

demo:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory $(BUILD)/ami
	@scripts/demo.sh

# The command-line demo, even on a terminal with Neovim.
demo-cli:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory $(BUILD)/ami
	@AMI_DEMO_CLI=1 scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/ami/build \
	  $(DESTDIR)$(PREFIX)/share/ami/lua/ami $(DESTDIR)$(PREFIX)/share/ami/plugin \
	  $(DESTDIR)$(PREFIX)/share/ami/doc
	install -m 0755 $(BUILD)/ami $(DESTDIR)$(PREFIX)/bin/ami
	install -m 0755 $(BUILD)/ami $(DESTDIR)$(PREFIX)/share/ami/build/ami
	install -m 0644 lua/ami/*.lua $(DESTDIR)$(PREFIX)/share/ami/lua/ami/
	install -m 0644 plugin/ami.lua $(DESTDIR)$(PREFIX)/share/ami/plugin/
	install -m 0644 doc/ami.txt $(DESTDIR)$(PREFIX)/share/ami/doc/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/ami
	rm -rf $(DESTDIR)$(PREFIX)/share/ami

FORMAT_FILES = src/*.c src/*.h include/ami/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c \
               $(wildcard bench/*.c)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem -Iinclude src

clean:
	rm -rf $(BUILD)

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d) $(FUZZ_OBJS:.o=.d) $(BENCH_C_BINS:=.d)
