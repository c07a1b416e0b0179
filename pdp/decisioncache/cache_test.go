package decisioncache

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

type principal struct{ name string }

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func newCache(tb testing.TB, maxBytes int64) *Cache[principal, string] {
	tb.Helper()
	c, err := New[principal, string](maxBytes)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestGet(t *testing.T) {
	alice, bob := &principal{"alice"}, &principal{"bob"}
	c := newCache(t, 1<<20)
	key := Key(1, alice, t0, []byte(`{"action":"read"}`))
	c.Add(key, alice, "rev-1", "allow", 5)

	tests := []struct {
		name     string
		key      string
		owner    *principal
		revision string
		want     bool
	}{
		{name: "same request", key: key, owner: alice, revision: "rev-1", want: true},
		{name: "same second, later instant", key: Key(1, alice, t0.Add(999*time.Millisecond), []byte(`{"action":"read"}`)),
			owner: alice, revision: "rev-1", want: true},
		{name: "next second", key: Key(1, alice, t0.Add(time.Second), []byte(`{"action":"read"}`)),
			owner: alice, revision: "rev-1", want: false},
		{name: "other body", key: Key(1, alice, t0, []byte(`{"action":"write"}`)), owner: alice, revision: "rev-1", want: false},
		{name: "other kind", key: Key(2, alice, t0, []byte(`{"action":"read"}`)), owner: alice, revision: "rev-1", want: false},
		{name: "other principal", key: Key(1, bob, t0, []byte(`{"action":"read"}`)), owner: bob, revision: "rev-1", want: false},
		{name: "key of another principal", key: key, owner: bob, revision: "rev-1", want: false},
		{name: "other revision", key: key, owner: alice, revision: "rev-2", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := c.Get(tt.key, tt.owner, tt.revision)
			if ok != tt.want || (ok && v != "allow") {
				t.Errorf("Get() = %q, %v; want hit %v", v, ok, tt.want)
			}
		})
	}
	if st := c.Stats(); st.Hits != 2 || st.Misses != 6 || st.Entries != 1 {
		t.Errorf("Stats() = %+v; want 2 hits, 6 misses, 1 entry", st)
	}
}

func TestBoundedByBytes(t *testing.T) {
	const maxBytes = 64 << 10
	c := newCache(t, maxBytes)
	owner := &principal{"alice"}
	body := []byte(strings.Repeat("x", 500))
	for i := range 1000 {
		c.Add(Key(1, owner, t0.Add(time.Duration(i)*time.Second), body), owner, "rev", "v", 100)
		if st := c.Stats(); st.Bytes > maxBytes {
			t.Fatalf("after %d adds the cache holds %d bytes; the bound is %d", i+1, st.Bytes, maxBytes)
		}
	}
	st := c.Stats()
	perEntry := int64(1+8+8+len(body)+len("rev")+100) + entryOverhead
	if want := maxBytes / perEntry; int64(st.Entries) != want || st.Bytes != want*perEntry {
		t.Errorf("Stats() = %+v; want %d entries of %d bytes", st, want, perEntry)
	}
	if st.Evicted != uint64(1000-st.Entries) {
		t.Errorf("evicted %d; want %d", st.Evicted, 1000-st.Entries)
	}
	// The most recent entries stay; the oldest went first.
	if _, ok := c.Get(Key(1, owner, t0.Add(999*time.Second), body), owner, "rev"); !ok {
		t.Error("the newest entry was evicted")
	}
	if _, ok := c.Get(Key(1, owner, t0, body), owner, "rev"); ok {
		t.Error("the oldest entry is still there")
	}
}

func TestReplaceKeepsCount(t *testing.T) {
	c := newCache(t, 1<<20)
	owner := &principal{"alice"}
	key := Key(1, owner, t0, []byte("{}"))
	c.Add(key, owner, "rev", "a", 10)
	first := c.Stats().Bytes
	c.Add(key, owner, "rev", "b", 10)
	if st := c.Stats(); st.Entries != 1 || st.Bytes != first {
		t.Errorf("after replacing: %+v; want 1 entry of %d bytes", st, first)
	}
	if v, _ := c.Get(key, owner, "rev"); v != "b" {
		t.Errorf("Get() = %q; want the replacement", v)
	}
}

func TestTooLargeNotStored(t *testing.T) {
	c := newCache(t, 1024)
	owner := &principal{"alice"}
	key := Key(1, owner, t0, make([]byte, 2048))
	c.Add(key, owner, "rev", "v", 1)
	if st := c.Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Errorf("Stats() = %+v; want an empty cache", st)
	}
}

// An entry does not keep its principal alive: once the token cache lets a principal go, the
// decisions made for it stop matching, even for a new principal at the same address.
func TestOwnerHeldWeakly(t *testing.T) {
	c := newCache(t, 1<<20)
	owner := &principal{"alice"}
	key := Key(1, owner, t0, []byte("{}"))
	c.Add(key, owner, "rev", "v", 1)
	var e entry[principal, string]
	e, _ = c.entries.Peek(key)
	owner = nil
	runtime.GC()
	runtime.GC()
	if e.owner.Value() != nil {
		t.Fatal("the cache kept its owner alive")
	}
	other := &principal{"mallory"}
	if _, ok := c.Get(key, other, "rev"); ok {
		t.Error("a collected owner's entry matched another principal")
	}
}

func TestNewRefusesNoBound(t *testing.T) {
	if _, err := New[principal, string](0); err == nil {
		t.Error("New(0) succeeded; want an error")
	}
}
