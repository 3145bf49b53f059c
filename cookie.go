package gaesession

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gaesession/gaesession/store"
)

// CookieOptions configures the session cookie. The zero value gives the
// defaults stated on each field. The cookie is always HttpOnly.
type CookieOptions struct {
	// Name of the cookie. Default: "sessid". A name starting with
	// "__Host-" makes browsers refuse the cookie unless it is Secure, has
	// Path "/" and no Domain, so a sibling subdomain cannot plant or
	// shadow it; Middleware panics if Domain, AllowHTTP or another Path is
	// set with it.
	Name string
	// Path of the cookie. Default: "/".
	Path string
	// Domain of the cookie. Default: "", the host that set it.
	Domain string
	// MaxAge is how long the browser keeps the cookie. Default: 30 days.
	MaxAge time.Duration
	// AllowHTTP lets the cookie travel over plain HTTP; by default it is
	// Secure. Set it for local development over http://. Default: false.
	AllowHTTP bool
	// SameSite of the cookie. Default: http.SameSiteLaxMode.
	SameSite http.SameSite
	// SigningKeys, when set, sign session IDs with HMAC-SHA256: the first key
	// signs, every key verifies, so a key can be rotated by putting the new
	// one first. A cookie with a bad signature costs no RPC. Each key must
	// have at least 32 bytes. Adding keys logs out sessions with unsigned
	// cookies. Default: none, IDs are not signed.
	SigningKeys [][]byte
}

const (
	minKeyBytes = 32
	sigLen      = 43 // base64 of an HMAC-SHA256, unpadded
	hostPrefix  = "__Host-"
)

// withDefaults returns o with every zero field set to its default, and
// panics on a signing key that is too short.
func (o CookieOptions) withDefaults() CookieOptions {
	if o.Name == "" {
		o.Name = "sessid"
	}
	if o.Path == "" {
		o.Path = "/"
	}
	if o.MaxAge == 0 {
		o.MaxAge = 30 * 24 * time.Hour
	}
	if o.SameSite == 0 {
		o.SameSite = http.SameSiteLaxMode
	}
	if strings.HasPrefix(o.Name, hostPrefix) && (o.Domain != "" || o.Path != "/" || o.AllowHTTP) {
		panic("gaesession: a " + hostPrefix + " cookie must be Secure, with Path \"/\" and no Domain: unset Domain and AllowHTTP")
	}
	for i, k := range o.SigningKeys {
		if len(k) < minKeyBytes {
			panic(fmt.Sprintf("gaesession: SigningKeys[%d] has %d bytes, want at least %d", i, len(k), minKeyBytes))
		}
	}
	return o
}

// cookie returns the session cookie carrying value; maxAge < 0 deletes it.
func (o *CookieOptions) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     o.Name,
		Value:    value,
		Path:     o.Path,
		Domain:   o.Domain,
		MaxAge:   maxAge,
		Secure:   !o.AllowHTTP,
		HttpOnly: true,
		SameSite: o.SameSite,
	}
}

// encode returns the cookie value for a session ID: the ID, signed when
// keys are set.
func (o *CookieOptions) encode(id string) string {
	if len(o.SigningKeys) == 0 {
		return id
	}
	return id + "." + base64.RawURLEncoding.EncodeToString(sign(o.SigningKeys[0], id))
}

// decode returns the session ID in a cookie value, checking its form and
// signature; ok is false for anything else. prefixLen is the length of the
// store's key prefix.
func (o *CookieOptions) decode(value string, prefixLen int) (id string, ok bool) {
	id = value
	if len(o.SigningKeys) > 0 {
		i := strings.LastIndexByte(value, '.')
		if i < 0 || len(value)-i-1 != sigLen {
			return "", false
		}
		id = value[:i]
		mac, err := base64.RawURLEncoding.DecodeString(value[i+1:])
		if err != nil || !store.ValidID(id, prefixLen) {
			return "", false
		}
		for _, k := range o.SigningKeys {
			if hmac.Equal(mac, sign(k, id)) {
				return id, true
			}
		}
		return "", false
	}
	return id, store.ValidID(id, prefixLen)
}

// sign returns the HMAC-SHA256 of id under key.
func sign(key []byte, id string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	return h.Sum(nil)
}
