// Package storetest tests the storage tiers under package store: a
// deterministic in-process Model of both tiers, for simulation tests of the
// store's protocol, and the conformance suites that the Model and every
// real backend must pass.
//
// A backend's tests run the suites on it:
//
//	func TestMemcache(t *testing.T) {
//		storetest.TestCache(t, func(t *testing.T) (tier.Cache, context.Context) {
//			return aestore.Memcache(), gaesessiontest.Context(t)
//		})
//	}
//
// TestRevocation runs the per-user index's races (Login, Renew, Revoke,
// RevokeAll, Sweep) on a pair of tiers given as store.Options, injecting
// each interleaving through wrappers around them:
//
//	storetest.TestRevocation(t, func(t *testing.T) (store.Options, context.Context) {
//		return store.Options{Cache: aestore.Memcache(), Durable: aestore.Datastore("rev")}, gaesessiontest.Context(t)
//	})
//
// A simulation drives the Model's clock and injects faults or interleaves
// calls through ModelOptions.Before, then checks invariants with CacheItem
// and Record:
//
//	m := storetest.NewModel(storetest.ModelOptions{
//		Memcache: true,
//		Now:      clock.Now,
//		Before: func(ctx context.Context, op, key string) error {
//			if op == "cache.CompareAndSwap" && rng.IntN(10) == 0 {
//				return errors.New("injected fault")
//			}
//			return nil
//		},
//	})
//	cache, durable := m.Cache(), m.Durable()
package storetest
