package store

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
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
			ID:      strings.Repeat("A", MaxKeyLen),
			Created: time.Date(9999, 12, 31, 23, 59, 59, 999999999, zone),
			UA:      cut(ua, MaxUserAgent),
			IP:      deviceIP("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%eth0"),
			Ending:  true,
			Marked:  time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix(),
			Gone:    true, // a gone entry keeps its UA and IP
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
