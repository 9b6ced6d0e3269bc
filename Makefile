# ctinfer — build with `make`, test with `make test`. Only a C11 compiler and
# make are needed; OpenMP is not used.
CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wvla -ffp-contract=off
CPPFLAGS := -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -Ikernels
LDLIBS  := -lm -lpthread
PREFIX  ?= /usr/local
B       ?= build

LIB_SRC   := $(shell find src kernels -name '*.c' -not -path 'src/cli/*' | sort)
CLI_SRC   := $(shell find src/cli -name '*.c' | sort)
CONV_SRC  := $(shell find tools/convert -name '*.c' -not -name main.c | sort)
TSUP_SRC  := $(shell find tests/support -name '*.c' 2>/dev/null | sort)
TEST_SRC  := $(sort $(wildcard tests/test_*.c))

LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(B)/%.o)
CONV_OBJ  := $(CONV_SRC:%.c=$(B)/%.o)
TSUP_OBJ  := $(TSUP_SRC:%.c=$(B)/%.o)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(B)/tests/%)

LIB       := $(B)/libctinfer.a
BINS      := $(B)/ctinfer $(B)/ctconvert $(B)/bench

.PHONY: all test asan clean install fuzz fuzz-targets fuzz-smoke fuzz-if-available tsan tsan-run cross-test
.SECONDARY:
# The default build also places copies at the documented paths:
# ./ctinfer, ./ctconvert, ./tools/bench and ./libctinfer.a.
all: $(LIB) $(BINS)
ifeq ($(B),build)
all: libctinfer.a ctinfer ctconvert tools/bench
ctinfer ctconvert: %: $(B)/%
	cp $< $@
tools/bench: $(B)/bench
	cp $< $@
endif

# Per-ISA kernel files get their instruction set (x86 only; elsewhere they
# compile to nothing); the dispatcher picks one at run time.
ifneq ($(filter x86_64% i686% i386%,$(shell $(CC) -dumpmachine)),)
$(B)/%_avx2.o: ISA_FLAGS := -mavx2 -mfma
endif

$(B)/tests/%.o: CPPFLAGS += -Itests -Itests/support -Itools/convert

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(ISA_FLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

libctinfer.a: $(LIB)
	cp $< $@

$(B)/ctinfer: $(CLI_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/ctconvert: $(B)/tools/convert/main.o $(CONV_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

BENCH_OBJ := $(patsubst %.c,$(B)/%.o,$(sort $(wildcard tools/bench_*.c)))
$(B)/bench: $(BENCH_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: $(B)/tests/%.o $(TSUP_OBJ) $(CONV_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

test: all $(TEST_BIN) $(if $(filter build,$(B)),fuzz-if-available)
	@CT_BIN=$(B) tests/run.sh $(TEST_BIN) $(if $(filter build,$(B)),tests/fuzz_smoke.sh)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan:
	$(MAKE) B=build-asan OPT=-O1 \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" test

# libFuzzer targets for every parser (clang): build-fuzz/fuzz_<name>, linked
# with the library, the converter and the argument parser, all built with
# libFuzzer's coverage instrumentation (-fsanitize-coverage=...) and ASan +
# UBSan; only the targets link the fuzzer runtime. fuzz/README.md says how to run
# them; `make fuzz-smoke` replays every seed corpus and fuzzes each target for
# FUZZ_SECONDS. `make test` does the same for a second per target when clang
# with libFuzzer is installed, and says that it skipped it otherwise.
FUZZ_CFLAGS  := -O1 -g -fsanitize-coverage=inline-8bit-counters,indirect-calls,trace-cmp,pc-table \
                -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_NAMES   := $(patsubst fuzz/%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_SUPPORT := $(filter-out fuzz/fuzz_%,$(sort $(wildcard fuzz/*.c)))
FUZZ_SECONDS ?= 5
fuzz:
	$(MAKE) B=build-fuzz CC=clang CFLAGS="$(FUZZ_CFLAGS)" fuzz-targets
fuzz-targets: $(FUZZ_NAMES:%=$(B)/%)
$(B)/fuzz/%.o: CPPFLAGS += -Itools/convert -Ifuzz
$(B)/fuzz_%: $(B)/fuzz/fuzz_%.o $(FUZZ_SUPPORT:%.c=$(B)/%.o) $(CONV_OBJ) $(B)/src/cli/args.o $(LIB)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
fuzz-smoke: fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz_smoke.sh
fuzz-if-available:
	@if tests/fuzz_smoke.sh --available; then $(MAKE) --no-print-directory -s fuzz; fi

# The thread pool, the threaded pipeline and one model shared by 8 threads,
# under ThreadSanitizer (clang or gcc).
TSAN_TESTS := $(filter $(TEST_SRC:tests/%.c=%),test_threadpool test_threads test_concurrency test_determinism)
tsan:
	$(MAKE) B=build-tsan OPT=-O1 CFLAGS="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread" tsan-run
tsan-run: all $(TSAN_TESTS:%=$(B)/tests/%)
	@TSAN_OPTIONS=halt_on_error=1 CT_BIN=$(B) tests/run.sh $(TSAN_TESTS:%=$(B)/tests/%)

# The library and the tests cross-built for AArch64 and run under an
# emulator (tests/cross_test.sh says what it needs).
cross-test: all
	@MAKE="$(MAKE)" tests/cross_test.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 755 ctinfer ctconvert $(DESTDIR)$(PREFIX)/bin/
	install -m 644 libctinfer.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/ctinfer.h $(DESTDIR)$(PREFIX)/include/

clean:
	rm -rf build build-asan build-fuzz build-tsan build-cross libctinfer.a ctinfer ctconvert tools/bench

-include $(shell find $(B) -name '*.d' 2>/dev/null)
