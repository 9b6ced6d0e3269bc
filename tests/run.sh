#!/bin/sh
# Runs every test program given as an argument, then prints the closing line
# "N passed, N failed". A program that crashes or prints no RESULT line counts
# as one failure. CT_RUNNER, when set, is put before each program (an
# emulator such as qemu-aarch64 for a cross build).
passed=0
failed=0
for prog in "$@"; do
    echo "== $prog"
    out=$($CT_RUNNER "$prog" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -v '^RESULT '
    result=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -n 1)
    if [ -z "$result" ]; then
        echo "FAIL $prog exited with status $rc and no RESULT line"
        failed=$((failed + 1))
        continue
    fi
    p=$(echo "$result" | cut -d' ' -f2)
    f=$(echo "$result" | cut -d' ' -f3)
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $prog exited with status $rc"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
