#!/bin/sh
# Fuzz smoke run for `make test` and `make fuzz-smoke`: every libFuzzer target
# in build-fuzz/ replays its seed corpus, then mutates for $FUZZ_SECONDS
# seconds (default 1) into a scratch corpus, so the committed seeds never
# change. Prints "ok"/"FAIL" per target and a RESULT line for tests/run.sh.
# Without clang's libFuzzer it prints a note and "RESULT 0 0": the smoke run
# is then skipped, and counted neither as passed nor as failed.
#   tests/fuzz_smoke.sh --available   exit status 0 when clang can link a fuzzer
available() {
    command -v clang >/dev/null 2>&1 || return 1
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
        clang -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1
}
if [ "$1" = "--available" ]; then
    available
    exit
fi
if ! available; then
    echo "skip fuzz smoke run: clang with libFuzzer is not installed (not counted as a test)"
    echo "RESULT 0 0"
    exit 0
fi

# The seed corpus of each target.
corpus() {
    case "$1" in
    fuzz_zip | fuzz_legacy) echo fuzz/corpus/convert ;;
    fuzz_cli_args) echo fuzz/corpus/cli ;;
    *) echo "fuzz/corpus/${1#fuzz_}" ;;
    esac
}

seconds=${FUZZ_SECONDS:-1}
scratch=$(mktemp -d /tmp/ct_fuzz_smoke_XXXXXX) || exit 1
passed=0
failed=0
for src in fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    bin=build-fuzz/$name
    seeds=$(corpus "$name")
    mkdir -p "$scratch/$name"
    if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
        echo "FAIL $name: $bin or $seeds is missing (make fuzz)"
        failed=$((failed + 1))
        continue
    fi
    if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$scratch/" \
        "$scratch/$name" "$seeds" >"$scratch/$name.log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$scratch/$name.log" | tail -n 1)
        echo "ok   fuzz smoke $name (${runs:-done})"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz smoke $name; the end of its log:"
        tail -n 30 "$scratch/$name.log"
        ls "$scratch" | grep -E '^(crash|leak|timeout|oom)-' | sed "s|^|    artifact $scratch/|"
        failed=$((failed + 1))
    fi
done
[ "$failed" -eq 0 ] && rm -rf "$scratch"
echo "RESULT $passed $failed"
[ "$failed" -eq 0 ]
