#!/usr/bin/env bash
# mutation.sh measures how strong the fast tests are: it runs the mutation
# tool gremlins (github.com/go-gremlins/gremlins) over purge/, store/ and the
# root package, one package after the other. Gremlins changes the code one
# operator at a time (a < into <=, a + into -, a condition negated) and runs
# the package's tests on each such mutant: KILLED means a test failed, LIVED
# means every test still passed.
#
# Usage: scripts/mutation.sh [package...]     (default: purge store .)
#
#   GREMLINS  the gremlins binary (default: gremlins on PATH, else ~/go/bin/gremlins)
#             go install github.com/go-gremlins/gremlins/cmd/gremlins@latest
#   OUT       folder for the results (default: $TMPDIR/gaesession-mutation):
#             OUT/<name>.json, gremlins' machine-readable result (-o), and
#             OUT/<name>.log, every mutant with its status
#   GREMLINS_FLAGS  more flags for gremlins unleash, e.g. to measure some
#             files only: GREMLINS_FLAGS="-E ^retry\.go$" scripts/mutation.sh store
#
# It is slow (tens of minutes for store/ on a 2-core machine) and is not part
# of CI. It runs the fast tests only: the App Engine dev server is turned off
# (APPENGINE_DEV_APPSERVER_BINARY=/bin/false, GAESESSION_REQUIRE_DEVSERVER
# unset), so the tests that need it skip, and their code counts as not
# covered. Most of the root package's tests need the dev server: its figures
# say what the fast tests give, not the whole suite.
#
# It runs one worker with a generous timeout (--workers 1
# --timeout-coefficient 10): with gremlins' defaults the rebuilt test binary
# overruns a timeout taken from the cached coverage run, and mutants are
# reported TIMED OUT, or KILLED, falsely; for the same reason the tests run
# uncached (-count=1). Test helpers (store/storetest) and
# doc.go files are not mutated; subpackages are measured on their own.
#
# Check a surprising result by hand: apply the mutant (file:line:column in
# the log), run `go test ./<package>`, undo it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

gremlins=${GREMLINS:-$(command -v gremlins || echo "$HOME/go/bin/gremlins")}
out=${OUT:-${TMPDIR:-/tmp}/gaesession-mutation}
mkdir -p "$out"

export APPENGINE_DEV_APPSERVER_BINARY=/bin/false
unset GAESESSION_REQUIRE_DEVSERVER
# Gremlins times each mutant's run against its coverage run: a cached test
# result would make that a second or so, and every mutant TIMED OUT.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-count=1"

if [ $# -eq 0 ]; then
	set -- purge store .
fi

for pkg in "$@"; do
	pkg=${pkg#./}
	pkg=${pkg%/}
	case $pkg in
	. | '') name=root path=. exclude=(-E '/') ;; # the root package only
	store) name=store path=./store exclude=(-E '^storetest/') ;;
	*) name=${pkg//\//-} path=./$pkg exclude=() ;;
	esac
	echo "== $path" >&2
	# shellcheck disable=SC2086 # GREMLINS_FLAGS splits into flags
	"$gremlins" unleash "$path" \
		--workers 1 --timeout-coefficient 10 \
		-E '(^|/)doc\.go$' "${exclude[@]}" ${GREMLINS_FLAGS:-} \
		-o "$out/$name.json" >"$out/$name.log" 2>&1 || {
		tail -20 "$out/$name.log" >&2
		exit 1
	}
	# the summary, and every mutant that lived (colour codes removed)
	sed 's/\x1b\[[0-9;]*m//g' "$out/$name.log" |
		grep -E '^ *(LIVED|Killed|Timed out|Test efficacy|Mutator coverage)' |
		sed "s|^ *|$name: |"
done
echo "results in $out" >&2
