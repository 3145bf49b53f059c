// Package aestore implements the store's two tiers on App Engine's bundled
// services: Memcache (tier.Cache) and Datastore (tier.Durable, records
// by key name), in icza/gaesession's storage format; the store keeps the
// rules of what it stores (such as ended sessions' tombstone records)
// itself. Their calls need an App Engine context (appengine.NewContext(r)).
//
// gaesession.New uses them when store.Options sets neither tier, and
// purge.Handler's default Durable tier is Datastore; apps set them by hand
// only to name another kind or to pair one with a tier of another backend:
//
//	opts := store.Options{Cache: aestore.Memcache(), Durable: aestore.Datastore("mykind")}
//
// The package is apart from package store so that the protocol, and
// backends off App Engine (the module gaesession/cloud), link no App Engine
// package.
package aestore
