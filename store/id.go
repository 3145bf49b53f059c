package store

import "github.com/gaesession/gaesession/store/tier"

// MinIDLen is the shortest session ID the store accepts: 96 bits in
// base64 (icza/session's default ID has 24 characters).
const MinIDLen = 16

// ValidID reports whether id looks like an icza/session ID (base64url,
// with at most two trailing '=') that fits a Cache key after a prefix of
// prefixLen bytes.
func ValidID(id string, prefixLen int) bool {
	if len(id) < MinIDLen || len(id) > tier.MaxKeyLen-prefixLen {
		return false
	}
	body := id // at least MinIDLen bytes: never emptied below
	for n := 0; n < 2 && body[len(body)-1] == '='; n++ {
		body = body[:len(body)-1]
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
