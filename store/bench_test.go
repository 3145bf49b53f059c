package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/icza/session"
)

// BenchmarkRead measures a read-only request's store work (Open, Get,
// Close of a session the Cache holds) on the in-process model, without
// and with HashIDs: the difference is the hash of the ID and the copy of
// the session's fields that encoding under it needs (none on a read).
func BenchmarkRead(b *testing.B) {
	for _, hashIDs := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "hashids"}[hashIDs]
		b.Run(name, func(b *testing.B) {
			m := storetest.NewModel(storetest.ModelOptions{Memcache: true})
			tiers := store.NewTiers(store.Options{Cache: m.Cache(), Durable: m.Durable(), KeyPrefix: "p:", HashIDs: hashIDs, TouchInterval: time.Hour})
			sess := session.NewSession()
			s := tiers.Open(context.Background(), nil, nil)
			s.Add(sess)
			s.Close()
			for range 2 { // the first read vouches for the new session
				s = tiers.Open(context.Background(), nil, nil)
				s.Get(sess.ID())
				s.Close()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				s := tiers.Open(context.Background(), nil, nil)
				if s.Get(sess.ID()) == nil {
					b.Fatal("session not found")
				}
				s.Close()
			}
		})
	}
}
