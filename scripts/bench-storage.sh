#!/bin/sh
# Storage-engine benchmarks for BENCHMARKS.md: ten interleaved rounds in
# which each log Append variant runs right next to its bufio baseline
# (alternating which goes first), so that the load drift of a shared
# machine hits both sides of each ratio alike; then reads and reopens.
#
#   scripts/bench-storage.sh [OUT]      (default OUT: bench-storage.txt)
#   benchstat OUT
set -e
cd "$(dirname "$0")/.."
out=${1:-bench-storage.txt}
bin=$(mktemp -d)/logbench.test
go test -c -o "$bin" ./log/
: > "$out"
run() { "$bin" -test.run '^$' -test.benchmem -test.count 1 -test.bench "$1" >> "$out" 2>&1; }
{ echo "# $(go version); nproc $(nproc); $(date -u)"; } >> "$out"
for i in 1 2 3 4 5 6 7 8 9 10; do
  for rs in 100B 1KiB; do
    for sync in none batch; do
      A="^BenchmarkAppend\$/^record=$rs\$/^batch=100\$/^encode=(true|false)\$/^sync=$sync\$"
      Z="^BenchmarkBaseline\$/^record=$rs\$/^batch=100\$/^sync=$sync\$"
      if [ $((i % 2)) = 1 ]; then run "$A"; run "$Z"; else run "$Z"; run "$A"; fi
    done
  done
  run '^BenchmarkRead$'
  run '^BenchmarkReopen$'
  echo "# round $i: $(uptime)" >> "$out"
done
rm -rf "$(dirname "$bin")"
