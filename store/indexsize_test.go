package store

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// TestIndexEntryBound: an index entry with every field at its cap (an ID
// of MaxKeyLen bytes, a User-Agent of MaxUserAgent bytes that JSON escapes
// to 6 each, the longest IPv6 address, a time with nanoseconds and a zone,
// marked gone) fits in maxEntryBytes; MaxSessionsLimit such entries fill at most half
// of maxIndexBytes, DefaultMaxSessions at most a fifth.
func TestIndexEntryBound(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("", -(9*3600 + 59*60))
	for _, ua := range []string{strings.Repeat("\xff", 300), strings.Repeat("<", 300), strings.Repeat("\x01", 300)} {
		e := indexEntry{
			Handle:  newHandle(),
			ID:      strings.Repeat("A", tier.MaxKeyLen),
			Created: time.Date(9999, 12, 31, 23, 59, 59, 999999999, zone),
			UA:      cut(ua, MaxUserAgent),
			IP:      deviceIP("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%eth0"),
			Ending:  true,
			Marked:  time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix(),
			Gone:    true, // a gone entry keeps its UA and IP
			Timeout: math.MaxInt64,
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > maxEntryBytes {
			t.Errorf("an entry at its cap has %d bytes, over maxEntryBytes (%d)", len(b), maxEntryBytes)
		}
		t.Logf("worst entry: %d bytes", len(b))
	}
	if MaxSessionsLimit*maxEntryBytes > maxIndexBytes/2 || DefaultMaxSessions*maxEntryBytes > maxIndexBytes/5 {
		t.Errorf("limits too high for maxIndexBytes %d", maxIndexBytes)
	}
}

// TestIndexSizeIsItsJSON: size, which bind keeps under maxIndexBytes, is
// the length of the index's JSON.
func TestIndexSizeIsItsJSON(t *testing.T) {
	t.Parallel()
	for _, prefix := range []*string{nil, new(string), &[]string{`app:"<`}[0]} {
		ix := index{Sessions: []indexEntry{}, Prefix: prefix}
		for n := 0; n < 4; n++ {
			if b, _ := json.Marshal(ix); ix.size() != len(b) {
				t.Errorf("%d entries, prefix %v: size %d, JSON %d bytes", n, prefix, ix.size(), len(b))
			}
			ix.Sessions = append(ix.Sessions, indexEntry{Handle: newHandle(), ID: strings.Repeat("A", 24), Created: time.Unix(1e9, 0).UTC(), UA: "ua"})
		}
	}
}

// TestBindMarksJustEnoughToFit: a login that would push the index past
// maxIndexBytes marks the least recently seen entries until it fits, and
// not one more: here the index is exactly maxIndexBytes after two marks.
func TestBindMarksJustEnoughToFit(t *testing.T) {
	t.Parallel()
	now := time.Unix(2_000_000_000, 0)
	entry := func(ua int) indexEntry {
		return indexEntry{Handle: newHandle(), ID: strings.Repeat("A", 24), Created: now.UTC(), UA: strings.Repeat("u", ua)}
	}
	base := entryBytes(entry(1)) - 1 // an entry's bytes are base plus its UA's
	marked := entry(200)
	marked.setEnding()
	marked.Marked = now.Unix()
	gain := base + 200 - entryBytes(marked) // what marking one saves
	ix := index{}
	for range maxIndexBytes / (base + 200 + 1) {
		ix.Sessions = append(ix.Sessions, entry(200))
	}
	const marks = 2
	e := entry(maxIndexBytes + marks*gain - ix.size() - 1 - base) // 1: the comma before e
	n := len(ix.Sessions)
	ix.bind(e, n+1, observed{}, now)
	got := 0
	for _, x := range ix.Sessions {
		if x.Ending {
			got++
		}
	}
	if b, _ := json.Marshal(ix); got != marks || ix.size() != maxIndexBytes || len(b) != maxIndexBytes {
		t.Errorf("%d marked, size %d (JSON %d); want %d marked, exactly %d", got, ix.size(), len(b), marks, maxIndexBytes)
	}
}
