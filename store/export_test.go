package store

import (
	"context"
	"time"
)

// Hooks replace how the store runs concurrent work and waits, for the
// simulation tests.
type Hooks struct {
	Sleep func(ctx context.Context, d time.Duration) error
	Fork  func(ctx context.Context, f func(context.Context)) (join func())
	Spawn func(ctx context.Context, f func(context.Context))
}

// NewTiersWith is NewTiers with the given hooks.
func NewTiersWith(opts Options, h Hooks) *Tiers {
	return newTiers(opts, runtime{sleep: h.Sleep, fork: h.Fork, spawn: h.Spawn})
}

// IndexEntries returns the handles and session IDs a user's index record
// lists, in its order, and whether each is being ended (revoked or beyond
// the limit).
func IndexEntries(value []byte) (handles, ids []string, ending []bool, err error) {
	ix, err := decodeIndex(value)
	for _, e := range ix.Sessions {
		handles, ids, ending = append(handles, e.Handle), append(ids, e.ID), append(ending, e.Ending)
	}
	return handles, ids, ending, err
}

// IsTombstone reports whether an Item with these flags holds no session.
var IsTombstone = isTombstone

// IsIndexID reports whether a Durable ID names a user's index.
var IsIndexID = isIndexID
