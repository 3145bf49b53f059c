package cloud

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/gaesession/gaesession/store/tier"
	"github.com/redis/go-redis/v9"
)

// MaxValueLen is the largest Item.Value the Redis cache stores: Memcache's
// 1 MiB, so that a session that fits one tier of either backend fits all.
const MaxValueLen = 1 << 20

// Redis returns a tier.Cache on Redis or Valkey (Memorystore for Redis,
// Memorystore for Valkey, or a server of your own), through a client the
// app created once. Each item is one string value: a header holding a
// version and the flags, then the item's value. Get is one GET;
// Add, CompareAndSwap and Set are one script call each (EVALSHA, else
// EVAL), which checks the version and writes in one atomic step. Every
// write stores a new random 64-bit version, so a token read before a
// Delete and a new Add does not match the new item. An item expires at
// Item.Expires (PEXPIREAT), however far ahead; the zero time means never.
// A value written by something else reads as an item whose Value is all
// of it, which the store finds corrupt and replaces.
// Each script touches one key only, so Redis Cluster works too: pass a
// redis.ClusterClient.
func Redis(client redis.UniversalClient) tier.Cache {
	return &redisCache{c: client}
}

type redisCache struct{ c redis.UniversalClient }

// Name implements tier.Named.
func (redisCache) Name() string { return "redis" }

// The stored value: header, then the item's value. The header is the
// format byte, the version (8 bytes) and the flags (4 bytes, big-endian).
const (
	formatV1   = 1
	versionEnd = 9 // format byte and version: what compare-and-swap compares
	headerLen  = versionEnd + 4
)

// token is an Item.Token of the Redis cache: the stored value's first
// versionEnd bytes.
type token string

// writeScript writes KEYS[1] as ARGV[1] says: "add" if it holds nothing,
// "cas" if its version is ARGV[2], "set" in any case. ARGV[3] is the new
// value, ARGV[4] the expiry in Unix milliseconds ("0": never). It returns
// 1 when written, 0 when not stored (add over an item, cas of a missing
// one), -1 on a version conflict.
var writeScript = redis.NewScript(`
local cur = redis.call('GETRANGE', KEYS[1], 0, ` + strconv.Itoa(versionEnd-1) + `)
if ARGV[1] == 'add' and cur ~= '' then return 0 end
if ARGV[1] == 'cas' then
  if cur == '' then return 0 end
  if cur ~= ARGV[2] then return -1 end
end
redis.call('SET', KEYS[1], ARGV[3])
if ARGV[4] ~= '0' then redis.call('PEXPIREAT', KEYS[1], ARGV[4]) end
return 1
`)

func (c *redisCache) Get(ctx context.Context, key string) (*tier.Item, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	b, err := c.c.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, tier.ErrCacheMiss
	}
	if err != nil {
		return nil, fmt.Errorf("redis get: %w", err)
	}
	if len(b) < headerLen || b[0] != formatV1 {
		// Not written by this cache: the store finds it corrupt and
		// replaces it by compare-and-swap, as on Memcache.
		return &tier.Item{Key: key, Value: b, Token: token(b[:min(len(b), versionEnd)])}, nil
	}
	return &tier.Item{
		Key:   key,
		Value: b[headerLen:],
		Flags: binary.BigEndian.Uint32(b[versionEnd:headerLen]),
		Token: token(b[:versionEnd]),
	}, nil
}

func (c *redisCache) Add(ctx context.Context, it *tier.Item) error {
	return c.write(ctx, "add", "", it)
}

func (c *redisCache) CompareAndSwap(ctx context.Context, it *tier.Item) error {
	t, ok := it.Token.(token)
	if !ok {
		return errors.New("redis compare-and-swap: the item was not read with this cache's Get")
	}
	return c.write(ctx, "cas", string(t), it)
}

func (c *redisCache) Set(ctx context.Context, it *tier.Item) error {
	return c.write(ctx, "set", "", it)
}

func (c *redisCache) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := c.c.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("redis delete: %w", err)
	}
	return nil
}

// SetMulti sets the items in one round trip: a pipeline of the script, one
// call per key, without MULTI. On a Redis Cluster the ClusterClient sends
// one such pipeline to each node concurrently, so keys in different hash
// slots, which no transaction or script could touch together, are fine.
// Every item is checked before anything is sent.
func (c *redisCache) SetMulti(ctx context.Context, items []*tier.Item) error {
	args := make([][]any, len(items))
	for i, it := range items {
		v, exp, err := encodeItem("set", it)
		if err != nil {
			return err
		}
		args[i] = []any{"set", "", v, exp}
	}
	_, err := c.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, it := range items {
			writeScript.Eval(ctx, p, []string{it.Key}, args[i]...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis set-multi: %w", err)
	}
	return nil
}

// encodeItem returns an item's Redis value, with a new version, and its
// expiry in Unix milliseconds ("0": none).
func encodeItem(mode string, it *tier.Item) ([]byte, string, error) {
	if err := checkKey(it.Key); err != nil {
		return nil, "", err
	}
	if len(it.Value) > MaxValueLen {
		return nil, "", fmt.Errorf("redis %s: value of %d bytes, over %d", mode, len(it.Value), MaxValueLen)
	}
	v := make([]byte, headerLen+len(it.Value))
	v[0] = formatV1
	binary.BigEndian.PutUint64(v[1:versionEnd], rand.Uint64())
	binary.BigEndian.PutUint32(v[versionEnd:headerLen], it.Flags)
	copy(v[headerLen:], it.Value)
	exp := "0"
	if !it.Expires.IsZero() {
		exp = strconv.FormatInt(max(it.Expires.UnixMilli(), 1), 10)
	}
	return v, exp, nil
}

// write runs writeScript in the given mode with a new version.
func (c *redisCache) write(ctx context.Context, mode, want string, it *tier.Item) error {
	v, exp, err := encodeItem(mode, it)
	if err != nil {
		return err
	}
	n, err := writeScript.Run(ctx, c.c, []string{it.Key}, mode, want, v, exp).Int()
	switch {
	case err != nil:
		return fmt.Errorf("redis %s: %w", mode, err)
	case n == 0:
		return tier.ErrNotStored
	case n < 0:
		return tier.ErrCASConflict
	}
	return nil
}

// checkKey refuses keys that Memcache would refuse for their length.
func checkKey(key string) error {
	if key == "" || len(key) > tier.MaxKeyLen {
		return fmt.Errorf("redis: key of %d bytes, want 1 to %d", len(key), tier.MaxKeyLen)
	}
	return nil
}
