package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
)

// Errors that an *Error wraps, for errors.Is.
var (
	// ErrTooLarge means the encoded session exceeds MaxSize.
	ErrTooLarge = errors.New("session too large")
	// ErrEncode means the codec could not encode the session, typically
	// because an attribute's type is not registered with encoding/gob.
	ErrEncode = errors.New("session cannot be encoded")
	// ErrCorrupt means a stored value could not be decoded as the session.
	ErrCorrupt = errors.New("stored session is corrupt")
	// ErrConflict means compare-and-swap kept conflicting with other
	// requests.
	ErrConflict = errors.New("too many concurrent writes")
	// ErrRenewed means the request's changes were not saved because
	// another request renewed the session (Renew) meanwhile.
	ErrRenewed = errors.New("session was renewed by another request, changes not saved")
	// ErrGone means the request's changes were not saved because the
	// session was no longer stored: removed, expired or purged meanwhile,
	// with the Cache's tombstone evicted.
	ErrGone = errors.New("session is no longer stored, changes not saved")
	// ErrStillReadable means a Remove or Renew could neither put a
	// tombstone in the Cache nor delete the session there: the old ID may
	// still be readable.
	ErrStillReadable = errors.New("session may still be readable")
	// ErrClosed means SetAttr was called on a session after its request
	// ended (from a goroutine that outlived the handler): the change is
	// not saved.
	ErrClosed = errors.New("request already ended")
	// ErrReserved means an attribute named with ReservedPrefix was set
	// outside the library: it was ignored (SetAttr) or dropped (a session
	// the app made, when written or renewed).
	ErrReserved = errors.New("attribute name reserved for gaesession")
)

// Error is a store failure: the operation, the tier, and a short,
// non-secret form of the session ID.
type Error struct {
	Op      string // "get", "save", "add", "remove", "renew", "login", "reauthenticated", "set-attr", "delete-expired"; from the middleware "set-cookie", "revoke", "revoke-all"
	Tier    string // the tier that failed, named by its backend (see Named): "memcache", "redis", "datastore", ...; "" when before any tier
	Session string // ShortID of the session ID
	Err     error
}

// Error implements error.
func (e *Error) Error() string {
	tier := ""
	if e.Tier != "" {
		tier = " " + e.Tier
	}
	return fmt.Sprintf("gaesession: %s%s session %s: %v", e.Op, tier, e.Session, e.Err)
}

// LogValue logs the error's parts as separate fields.
func (e *Error) LogValue() slog.Value {
	return slog.GroupValue(slog.String("op", e.Op), slog.String("tier", e.Tier),
		slog.String("session", e.Session), slog.Any("error", e.Err))
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ShortID returns a short form of a session ID that is safe to log: the
// first 8 hex digits of its SHA-256. The ID itself is a credential.
func ShortID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:4])
}
