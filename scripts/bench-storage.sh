#!/bin/sh
# Storage-engine benchmarks for BENCHMARKS.md: ten interleaved rounds in
# which each log Append variant runs right next to its bufio baseline and
# its one-pwrite-per-batch floor, each with and without zero-ahead
# (rotating which goes first), so that the
# load drift of a shared machine hits every side of each ratio alike; then
# reads and reopens.
#
#   [ROUNDS=n] scripts/bench-storage.sh [OUT]   (default OUT: bench-storage.txt, 10 rounds)
#   benchstat OUT
set -e
cd "$(dirname "$0")/.."
out=${1:-bench-storage.txt}
bin=$(mktemp -d)/logbench.test
go test -c -o "$bin" ./log/
: > "$out"
run() { "$bin" -test.run '^$' -test.benchmem -test.count 1 -test.bench "$1" >> "$out" 2>&1; }
{ echo "# $(go version); nproc $(nproc); $(date -u)"; } >> "$out"
for i in $(seq "${ROUNDS:-10}"); do
  for rs in 100B 1KiB; do
    for sync in none batch; do
      A="^BenchmarkAppend(ZeroAhead)?\$/^record=$rs\$/^batch=100\$/^encode=(true|false)\$/^sync=$sync\$"
      Z="^BenchmarkBaseline\$/^record=$rs\$/^batch=100\$/^sync=$sync\$"
      F="^BenchmarkFloor(ZeroAhead)?\$/^record=$rs\$/^batch=100\$/^sync=$sync\$"
      case $((i % 3)) in
      0) run "$A"; run "$Z"; run "$F" ;;
      1) run "$Z"; run "$F"; run "$A" ;;
      *) run "$F"; run "$A"; run "$Z" ;;
      esac
    done
  done
  run '^BenchmarkRead$'
  run '^BenchmarkReopen$'
  echo "# round $i: $(uptime)" >> "$out"
done
rm -rf "$(dirname "$bin")"
