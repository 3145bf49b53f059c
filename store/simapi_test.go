package store_test

import (
	"context"
	"errors"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// The simulation calls the store's user API only through these wrappers,
// one per call whose signature may change, so that a change is one edit.

// simLogin is Store.Login; a new session (sess nil) gets timeout.
func simLogin(st *store.Store, sess session.Session, user string, max int, timeout time.Duration) (session.Session, error) {
	if sess != nil {
		timeout = 0 // the session's
	}
	return st.Login(sess, store.Login{User: user, UserAgent: "sim", Max: max, Timeout: timeout})
}

// simRenew is Store.Renew.
func simRenew(st *store.Store, sess session.Session) (session.Session, error) {
	return st.Renew(sess)
}

// simDevices is Tiers.Devices.
func simDevices(ctx context.Context, t *store.Tiers, user string) ([]store.Device, error) {
	return t.Devices(ctx, user, "")
}

// simRevoke is Tiers.Revoke.
func simRevoke(ctx context.Context, t *store.Tiers, user, handle string) (bool, error) {
	return t.Revoke(ctx, user, handle)
}

// simRevokeAll is Tiers.RevokeAll.
func simRevokeAll(ctx context.Context, t *store.Tiers, user, keep string) error {
	return t.RevokeAll(ctx, user, keep)
}

// simPurge is one run of purge as purge/run.go does it, one batch at a
// time: the records expired before now, less what Tiers.Sweep keeps,
// deleted with DeleteMulti (Sweep deletes the indexes it finds empty
// itself).
func simPurge(ctx context.Context, t *store.Tiers, d tier.Durable, now time.Time) error {
	return d.Expired(ctx, now, func(ids []string) error {
		del, _, endErr, err := t.Sweep(ctx, now, ids)
		if err == nil && len(del) > 0 {
			err = d.DeleteMulti(ctx, del)
		}
		return errors.Join(endErr, err)
	})
}
