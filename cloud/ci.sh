#!/usr/bin/env bash
# CI of the cloud module: gofmt, vet, staticcheck, tests with the race
# detector against a local redis-server and the Datastore emulator (which
# must run, not skip), the benchmark once, and a two-minute soak
# (TestSoak). Installs redis-server when missing. Run from anywhere;
# .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")"
# The module requires the core at a released version; the repository's
# workspace builds it, and example/cloudrun, with this tree's core instead,
# whatever GOWORK the caller set.
GOWORK="$(cd .. && pwd)/go.work"
export GOWORK
export GAESESSION_REQUIRE_DEVSERVER=1

if ! command -v redis-server >/dev/null 2>&1; then
	echo "== installing redis-server"
	(apt-get install -y -q redis-server >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; })
fi

echo "== cloud: gofmt"
unformatted=$(gofmt -l . ../example/cloudrun)
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted"
	exit 1
fi

for dir in . ../example/cloudrun; do
	echo "== $dir: go vet, staticcheck"
	(cd "$dir" && go vet ./... && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...)
done

echo "== cloud: go test -race ./..."
go test -race -count=1 ./...
(cd ../example/cloudrun && go test -race -count=1 ./...)

echo "== cloud: benchmarks, once each"
go test -run '^$' -bench . -benchtime=1x ./...

echo "== cloud: soak, 2 minutes (browsers against redis-server and the emulator; Redis flushed, restarted, paused)"
go test -count=1 -run '^TestSoak$' -soak=2m -v .
