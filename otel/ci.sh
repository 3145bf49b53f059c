#!/usr/bin/env bash
# CI of the otel module: gofmt, vet, staticcheck, its tests with the race
# detector (the dev-server tests must run, not skip), and the benchmarks
# once. Run from anywhere; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")"
# The module requires the core at a released version; the repository's
# workspace builds it with this tree's core instead, whatever GOWORK the
# caller set.
GOWORK="$(cd .. && pwd)/go.work"
export GOWORK
export GAESESSION_REQUIRE_DEVSERVER=1

echo "== otel: gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted"
	exit 1
fi

echo "== otel: go vet, staticcheck"
go vet ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

echo "== otel: go test -race ./..."
go test -race -count=1 ./...

echo "== otel: benchmarks, once each"
go test -run '^$' -bench . -benchtime=1x ./...
