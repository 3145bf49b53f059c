// Package otel gives gaesession OpenTelemetry traces and metrics. It is a
// module of its own (github.com/gaesession/gaesession/otel), so that the
// core module does not depend on OpenTelemetry.
//
// A Telemetry decorates the store's tiers (Cache, Durable) and receives
// the core's events (Observe) and the span of each request's session work
// (WorkContext):
//
//	tel := otel.New(otel.Options{}) // the global TracerProvider and MeterProvider
//	sessions := gaesession.New(gaesession.Options{
//		Store: store.Options{
//			Cache:   tel.Cache(aestore.Memcache()),
//			Durable: tel.Durable(aestore.Datastore("")),
//			Observe: tel.Observe,
//		},
//		WorkContext: tel.WorkContext,
//	})
//	purgeHandler := purge.Handler(purge.Options{Observe: tel.Observe})
//
// # Spans
//
// One span per request that uses its sessions, SpanName ("gaesession
// session"), from the first use (Get, Add, Login, ...) to the end of the
// write-back, with an event per outcome the core reports ("read.hit",
// "write.merged", "login", ...; see store.Event) carrying its count
// (gaesession.count). Its children are a client span per tier call, named
// after the operation and the tier ("Get memcache", "PutMulti datastore"),
// with the attributes:
//
//   - gaesession.tier: the tier's name from tier.Named ("memcache", "redis",
//     "datastore", "datastore-cache"), else "cache" or "durable";
//   - db.operation.name: the tier.Cache or tier.Durable method;
//   - gaesession.outcome: hit, miss or tombstone (a Cache Get); ok,
//     conflict or not-stored (writes; conflict also for a Durable Update
//     that met contention); aborted (an Update or Expired that the store's
//     function ended); error;
//   - db.operation.batch.size: the keys of a SetMulti, GetMulti, PutMulti
//     or DeleteMulti;
//   - gaesession.value.size: the bytes of the values read or written;
//   - gaesession.found: the records a GetMulti or Expired found;
//   - error.type, with the error recorded as an "exception" event and the
//     span's status, when the call failed; the call's keys are replaced by
//     "[key]" in the message.
//
// No span, event or metric carries a session ID, a user ID, a handle, a
// key or a session's value.
//
// # Metrics
//
// Named and attributed after the OpenTelemetry semantic conventions:
//
//   - db.client.operation.duration (histogram, s): each tier call, by
//     gaesession.tier, db.operation.name, gaesession.outcome and, on
//     failure, error.type; the conventions' advised buckets.
//   - gaesession.session.reads (counter, {read}): sessions read, by
//     gaesession.outcome: hit (from the Cache alone), fallback (the
//     Durable tier was read), tombstone (the session had ended), miss
//     (no Durable tier, nothing in the Cache), junk-cookie (a malformed or
//     wrongly signed cookie: nothing read).
//   - gaesession.session.writes (counter, {write}): write-backs, by
//     gaesession.outcome: written, merged (onto a concurrent write),
//     refilled (the Cache had lost the session), ended (the session had
//     ended: nothing written), failed (reported to ErrorFunc).
//   - gaesession.session.logins, gaesession.session.renewals (counters):
//     successful Manager.Login and Manager.Renew calls.
//   - gaesession.session.ended (counter, {session}): sessions ended, by
//     gaesession.reason: logout or revocation.
//   - gaesession.purge.deleted (counter, {record}): records purge deleted.
//
// With the no-op providers a read-only request on App Engine's Memcache
// costs under 1% more than undecorated (docs/performance.md).
package otel
