#!/usr/bin/env bash
# make fuzz: builds the libraries with -sanitize=fuzzer,address, links each libFuzzer target in
# Tests/Fuzz, and runs it for FUZZ_SECONDS (default 600) on a corpus seeded from the README, the
# lessons and the command lines of the tests. Crashes and broken properties are written to
# fuzz-out/<target>/.
# Then the shell itself (release build): FUZZ_LINES (default 100,000) random and mutated lines
# through `sockshell run --keep-going` (scripts/random-lines.py), and the hostile peers of
# scripts/hostile.py. FUZZ_TARGETS chooses targets (default: parser checks lessons render).
# Writes the figures under "## Latest run" in FUZZING.md. Exits 1 when anything broke.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-600}
lines=${FUZZ_LINES:-100000}
targets=${FUZZ_TARGETS:-parser checks lessons render}
failed=0
build=.build-fuzz
# The targets link every object of these modules: objects of files since moved or removed must go.
rm -f "$build"/release/{SockShellKit,SocketLayer,CSupport}.build/*.o
swift build -c release --scratch-path "$build" -Xswiftc -sanitize=fuzzer,address --target SockShellKit
lib=$build/release
mkdir -p fuzz-out
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
report=$work/report.md
{
  echo "## Latest run"
  echo
  echo "\`make fuzz\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')."
  echo
  echo "| what | how long | inputs | result |"
  echo "|---|---|---|---|"
} > "$report"
seed() { # target, files... -> corpus of lines (or whole files for lessons)
  local dir=fuzz-out/$1/corpus; mkdir -p "$dir"; shift
  if [ "$1" = whole ]; then shift; for f in "$@"; do cp "$f" "$dir/"; done; return; fi
  local n=0
  cat "$@" | grep -av '^\s*$' | head -2000 | while IFS= read -r line; do n=$((n+1)); printf '%s\n' "$line" > "$dir/seed-$n"; done
}
# The command lines of the tests' scripts too.
grep -ahE '^\s+([a-z][a-z0-9_]* = )?(socket|bind|listen|accept|connect|send|recv|sendto|recvfrom|close|shutdown|setsockopt|getsockopt|nonblock|poll|ls|inspect|addr|tcp|timeline|trace|save|export|explain|help)( |$)' \
  Tests/SockShellTests/*.swift | sed 's/^[[:space:]]*//' | sort -u > fuzz-out/tests.txt || true
seed parser README.md Lessons/*.md fuzz-out/tests.txt
grep -ah '^[a-z]' Lessons/*.md | grep -aE '^(socket|no socket|sockets|called|received|sent|partner) ' > fuzz-out/checks.txt || true
seed checks fuzz-out/checks.txt
seed lessons whole Lessons/*.md
printf 'GET / HTTP/1.1\r\n\x1b[2J\xff\xfe\xc2\x9b\xe2\x80\xae' > fuzz-out/render.seed
seed render fuzz-out/render.seed
for name in $targets; do
  target="$(echo "${name:0:1}" | tr a-z A-Z)${name:1}"
  swiftc -O -sanitize=fuzzer,address -parse-as-library "Tests/Fuzz/Fuzz$target.swift" -I "$lib/Modules" \
    -Xcc -fmodule-map-file="$lib/CSupport.build/module.modulemap" \
    -Xcc -fmodule-map-file=Sources/CEditLine/module.modulemap -Xcc -fmodule-map-file=Sources/CCMark/module.modulemap \
    -Xcc -fmodule-map-file=Sources/CYAML/module.modulemap -Xcc -I/usr/include/editline \
    "$lib"/SockShellKit.build/*.o "$lib"/SocketLayer.build/*.o "$lib"/CSupport.build/*.o \
    -ledit -lcmark -lyaml -o "fuzz-out/fuzz-$name" 2>&1 | grep -v warning || true
  echo "fuzzing $name for $seconds s"
  result="no crash, property held"
  (cd "fuzz-out/$name" && SWIFT_BACKTRACE=enable=no ../fuzz-$name -max_total_time="$seconds" -max_len=4096 \
    -print_final_stats=1 corpus > ../$name.log 2>&1) || {
    result="FOUND A PROBLEM: fuzz-out/$name/crash-*"; echo "fuzz-$name found a problem: see fuzz-out/$name/crash-*"; failed=1; }
  tail -8 "fuzz-out/$name.log"
  runs=$(grep -a 'stat::number_of_executed_units' "fuzz-out/$name.log" | awk '{print $2}')
  echo "| libFuzzer: $name | $seconds s | ${runs:-?} | $result |" >> "$report"
done

# The whole shell on random lines: no crash (a signal), no hang (the timeout), exit status 1. It
# runs in a scratch folder with its own state folder: save, export and lesson progress stay there.
shell=$PWD/.build/release/sockshell
python3 scripts/random-lines.py "$lines" "${FUZZ_SEED:-1}" README.md Lessons/*.md > "$work/random.ss"
echo "running $lines random lines through sockshell run --keep-going --timeout 1"
status=0
(cd "$work" && SOCKSHELL_HOME="$work" /usr/bin/time -q -f "%e s, peak %M KB" -o "$work/time" timeout 3600 "$shell" run --keep-going \
  --timeout 1 random.ss > out.txt 2> err.txt) || status=$?
summary="exit status $status (1 expected), $(cat "$work/time"), $(grep -ac '^sockshell> ' "$work/out.txt") lines echoed, $(tail -1 "$work/err.txt")"
echo "random lines: $summary"
result="ok: $summary"
if [ "$status" != 1 ]; then
  cp "$work/random.ss" fuzz-out/random-failed.ss
  result="BROKE (exit $status): fuzz-out/random-failed.ss"; echo "random lines broke the shell: the script is fuzz-out/random-failed.ss"; failed=1
fi
if ! problem=$(python3 scripts/hostile.py --check "$work/out.txt"); then
  echo "random lines: $problem"; result="TRANSCRIPT CHECK FAILED: $problem; $summary"; failed=1
fi
echo "| sockshell run --keep-going, random and mutated lines | | $lines | $result |" >> "$report"

echo "hostile peers"
python3 scripts/hostile.py "$shell" | tee "$work/hostile.txt" || failed=1
while read -r name seconds _ _ peak _ _ status verdict; do
  echo "| hostile peer: $name | $seconds s | | $verdict; exit $status; peak memory $peak MB |" >> "$report"
done < "$work/hostile.txt"

# FUZZING.md: the hand-written findings stay; the latest run replaces the previous one.
[ -f FUZZING.md ] && sed -i '/^## Latest run/,$d' FUZZING.md
cat "$report" >> FUZZING.md
echo "wrote FUZZING.md"
exit $failed
