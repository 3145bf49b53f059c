package cloud_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/store"
)

// TestDatastoreOnlyKeyPrefix: a DatastoreCache whose key prefix is not
// store.Options.KeyPrefix is refused when the middleware is made, with a
// message naming both; a key without the prefix fails without the session
// ID in the error.
func TestDatastoreOnlyKeyPrefix(t *testing.T) {
	t.Parallel()
	servers(t)
	kind := newKind()
	t.Run("mismatch refused", func(t *testing.T) {
		defer func() {
			msg := fmt.Sprint(recover())
			if !strings.Contains(msg, `"a:"`) || !strings.Contains(msg, `"b:"`) {
				t.Errorf("New panicked with %q, want a message naming both prefixes", msg)
			}
		}()
		gaesession.New(gaesession.Options{Store: store.Options{
			Cache: cloud.DatastoreCache(dsc, kind, "a:"), KeyPrefix: "b:", OnlyMemcache: true}})
		t.Error("New accepted a DatastoreCache with another key prefix")
	})
	t.Run("match accepted", func(t *testing.T) {
		gaesession.New(gaesession.Options{Store: store.Options{
			Cache: cloud.DatastoreCache(dsc, kind, "a:"), KeyPrefix: "a:", OnlyMemcache: true}})
	})
	t.Run("no ID in errors", func(t *testing.T) {
		const id = "Zm9yZ2VkLXNlc3Npb24taWQtMDEyMzQ1"
		_, err := cloud.DatastoreCache(dsc, kind, "a:").Get(testContext(t), "b:"+id)
		if err == nil || strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), store.ShortID("b:"+id)) {
			t.Errorf("Get of a key without the prefix: %v; want an error with the ShortID, not the ID", err)
		}
	})
}
