package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/appengine/v2/datastore"
	"google.golang.org/appengine/v2/memcache"
)

// maxSwaps bounds the compare-and-swap attempts of one flush. Each conflict
// means another request's write landed, so this is far more than the
// concurrent requests one session sees.
const maxSwaps = 32

// errRemoved: the session was removed while the request held it.
var errRemoved = errors.New("session was removed")

// pending counts background Datastore writes; see Wait. Unlike a
// sync.WaitGroup it may be waited on while new writes start.
var pending struct {
	sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0
}

// Wait blocks until every background Datastore write started with
// AsyncDatastoreSave before the call has finished (and those started since,
// if they overlap). Call it in tests and at graceful shutdown, after the
// server has stopped taking requests.
func Wait() {
	pending.Lock()
	n, idle := pending.n, pending.idle
	pending.Unlock()
	if n > 0 {
		<-idle
	}
}

// started and finished count a background write in and out.
func started() {
	pending.Lock()
	defer pending.Unlock()
	if pending.n == 0 {
		pending.idle = make(chan struct{})
	}
	pending.n++
}

func finished() {
	pending.Lock()
	defer pending.Unlock()
	if pending.n--; pending.n == 0 {
		close(pending.idle)
	}
}

// flush writes one session back if the request changed it, added it, or it
// is due for a touch. Memcache is written with compare-and-swap, merging
// this request's changes into any newer version, and Datastore gets the
// result, concurrently with Memcache when the value needs no merge.
func (s *Store) flush(id string, e *entry) {
	var changes map[string]any
	if t, ok := e.sess.(*tracked); ok {
		changes = t.changed()
	}
	if !e.whole && !e.touch && changes == nil {
		return
	}
	defer s.debug("save", s.tiers(), id, time.Now(), slog.Bool("async", s.o.AsyncDatastoreSave))
	value, err := s.encode(e.sess)
	if err != nil {
		s.report("save", "", id, err)
		return
	}
	exp := s.expiry(e.sess)
	backup := !s.o.OnlyMemcache
	var first chan error
	if backup && !s.o.AsyncDatastoreSave {
		first = make(chan error, 1)
		go func() { first <- s.put(s.ctx, id, value, exp) }()
	}
	final, finalExp, merged, err := s.swap(id, e, value, exp, changes)
	switch {
	case errors.Is(err, errRemoved):
		backup = false // logout wins
	case err != nil:
		tier := tierMemcache
		if errors.Is(err, ErrEncode) || errors.Is(err, ErrTooLarge) {
			tier = "" // the merge, before any tier
		}
		s.report("save", tier, id, err)
		if final == nil {
			final, finalExp = value, exp
		}
	}
	if first != nil {
		if err := <-first; err != nil {
			s.report("save", "datastore", id, err)
		}
		if !backup {
			// Undo our backup: the logout may have deleted the entity first.
			if err := s.deleteEntity(s.ctx, id); err != nil {
				s.report("remove", "datastore", id, err)
			}
			return
		}
		if !merged {
			return
		}
	}
	if !backup {
		return
	}
	if !s.o.AsyncDatastoreSave {
		s.backup(s.ctx, id, final, finalExp, merged, s.report)
		return
	}
	// The request is over before this ends: failures are logged, not
	// sent to ErrorFunc. A background write may land long after the
	// Memcache write, so it always checks Memcache afterwards: the extra
	// RPC costs the request no time.
	ctx, cancel := context.WithTimeout(s.ctx, s.o.AsyncTimeout) // s.ctx has no cancel since Close
	started()
	go func() {
		defer finished()
		defer cancel()
		s.backup(ctx, id, final, finalExp, true, s.logFailure)
	}()
}

// backup writes a session's value to Datastore. With recheck (after a
// merge, other requests wrote the session concurrently, so their backups may
// land in any order; or when the write runs in the background) it then reads
// Memcache and makes Datastore follow it: the newest value, or no entity
// when the session was removed meanwhile. It reads again after each such
// write, until Memcache holds what it last wrote (at most maxSwaps times),
// so that the last write to land is followed by a check.
func (s *Store) backup(ctx context.Context, id string, value []byte, exp time.Time, recheck bool, report func(op, tier, id string, err error)) {
	for range maxSwaps {
		if err := s.put(ctx, id, value, exp); err != nil {
			report("save", "datastore", id, err)
			return
		}
		if !recheck {
			return
		}
		item, err := s.mcGet(ctx, s.o.KeyPrefix+id)
		switch {
		case errors.Is(err, memcache.ErrCacheMiss):
			return
		case err != nil:
			report("save", "memcache", id, err)
			return
		case item.Flags == tombstone:
			if err := s.deleteEntity(ctx, id); err != nil {
				report("remove", "datastore", id, err)
			}
			return
		case bytes.Equal(item.Value, value):
			return
		}
		latest, err := s.decode(item.Value, id)
		if err != nil {
			return
		}
		value, exp = item.Value, s.expiry(latest)
	}
}

// put writes a session entity.
func (s *Store) put(ctx context.Context, id string, value []byte, exp time.Time) error {
	key := datastore.NewKey(ctx, s.o.DSEntityName, id, 0, nil)
	return s.retry(ctx, func() error {
		_, err := datastore.Put(ctx, key, &entity{Expires: exp, Value: value})
		return err
	})
}

// swap writes value to Memcache with compare-and-swap. On a conflict it
// reads the newer version and applies this request's changes to it (or,
// for a session written whole, overwrites it) and tries again. It returns
// the value stored, its expiry, and whether that differs from value; or
// errRemoved when it finds the session removed. When this request's changes
// cannot be encoded on top of a newer version, it leaves that version and
// returns it with the encoding error.
func (s *Store) swap(id string, e *entry, value []byte, exp time.Time, changes map[string]any) ([]byte, time.Time, bool, error) {
	key := s.o.KeyPrefix + id
	item, merged := e.item, false
	for i := 0; i < maxSwaps; i++ {
		var err error
		if item == nil {
			err = s.retry(s.ctx, func() error {
				return memcache.Add(s.ctx, &memcache.Item{Key: key, Value: value, Expiration: time.Until(exp)})
			})
		} else {
			item.Value, item.Flags, item.Expiration = value, 0, time.Until(exp)
			err = s.retry(s.ctx, func() error { return memcache.CompareAndSwap(s.ctx, item) })
			if errors.Is(err, memcache.ErrNotStored) {
				// Evicted since we read it: add it back.
				item = nil
				continue
			}
		}
		if err == nil {
			return value, exp, merged, nil
		}
		if !errors.Is(err, memcache.ErrNotStored) && !errors.Is(err, memcache.ErrCASConflict) {
			return nil, time.Time{}, false, err
		}
		if i > 0 {
			time.Sleep(time.Duration(rand.Int64N(int64(time.Millisecond) << min(i, 5))))
		}
		latest, err := s.mcGet(s.ctx, key)
		switch {
		case errors.Is(err, memcache.ErrCacheMiss):
			item = nil
			continue
		case err != nil:
			return nil, time.Time{}, false, err
		case latest.Flags == tombstone:
			return nil, time.Time{}, false, errRemoved
		}
		item = latest
		v, x, err := s.merge(id, latest.Value, e, changes)
		if err != nil {
			return latest.Value, x, true, err
		}
		if v != nil {
			value, exp, merged = v, x, true
		}
	}
	return nil, time.Time{}, false, ErrConflict
}

// merge applies the request's changes to the stored value and returns the
// result and its expiry. It returns nil when the request's own value should
// overwrite instead: the session was added whole, or the stored value is
// unreadable. When the result cannot be encoded, it returns the error and
// the stored value's expiry.
func (s *Store) merge(id string, stored []byte, e *entry, changes map[string]any) ([]byte, time.Time, error) {
	if e.whole {
		return nil, time.Time{}, nil
	}
	base, err := s.decode(stored, id)
	if err != nil {
		return nil, time.Time{}, nil
	}
	storedExp := s.expiry(base)
	for k, v := range changes {
		base.SetAttr(k, v)
	}
	base.Access()
	v, err := s.encode(base)
	if err != nil {
		return nil, storedExp, err
	}
	return v, s.expiry(base), nil
}

// mcGet reads a Memcache item, retrying service errors.
func (s *Store) mcGet(ctx context.Context, key string) (*memcache.Item, error) {
	var item *memcache.Item
	err := s.retry(ctx, func() error {
		var err error
		item, err = memcache.Get(ctx, key)
		return err
	})
	return item, err
}

// retry calls f until it succeeds, fails with an answer rather than a
// service error, or has been tried Retries times, backing off in between.
func (s *Store) retry(ctx context.Context, f func() error) error {
	var err error
	for i := range s.o.Retries {
		if i > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(10 * time.Millisecond << (i - 1)):
			}
		}
		if err = f(); !transient(err) {
			return err
		}
	}
	return err
}

// transient reports whether err is worth another try.
func transient(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, memcache.ErrCacheMiss),
		errors.Is(err, memcache.ErrNotStored),
		errors.Is(err, memcache.ErrCASConflict),
		errors.Is(err, datastore.ErrNoSuchEntity),
		errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return false
	}
	return true
}
