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

.PHONY: all test asan clean install fuzz
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

test: all $(TEST_BIN)
	@CT_BIN=$(B) tests/run.sh $(TEST_BIN)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan:
	$(MAKE) B=build-asan OPT=-O1 \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" test

# libFuzzer targets for the image decoders (clang): build-fuzz/fuzz_<name>.
# Run e.g.: build-fuzz/fuzz_png -max_total_time=300 fuzz/corpus/png
FUZZ_BIN  := $(patsubst fuzz/%.c,build-fuzz/%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_DEPS := $(sort $(wildcard src/image/*.c src/util/*.c))
fuzz: $(FUZZ_BIN)
build-fuzz/%: fuzz/%.c $(FUZZ_DEPS) $(wildcard src/image/*.h src/util/*.h)
	@mkdir -p build-fuzz
	clang $(CPPFLAGS) $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -o $@ $< $(FUZZ_DEPS) -lm

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 755 ctinfer ctconvert $(DESTDIR)$(PREFIX)/bin/
	install -m 644 libctinfer.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/ctinfer.h $(DESTDIR)$(PREFIX)/include/

clean:
	rm -rf build build-asan build-fuzz libctinfer.a ctinfer ctconvert tools/bench

-include $(shell find $(B) -name '*.d' 2>/dev/null)
