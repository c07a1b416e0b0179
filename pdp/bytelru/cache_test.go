package bytelru

import (
	"fmt"
	"sync"
	"testing"
)

// op is one step on a cache of string keys: an Add of size bytes, or a Remove when size is 0.
type op struct {
	key  string
	size int64
}

func TestBounds(t *testing.T) {
	tests := []struct {
		name        string
		maxBytes    int64
		maxEntries  int
		ops         []op
		wantKeys    []string // oldest first
		wantBytes   int64
		wantEvicted uint64
	}{
		{name: "within both bounds", maxBytes: 100, maxEntries: 10,
			ops: []op{{"a", 10}, {"b", 20}}, wantKeys: []string{"a", "b"}, wantBytes: 30},
		{name: "bytes evict the oldest", maxBytes: 100, maxEntries: 10,
			ops: []op{{"a", 40}, {"b", 40}, {"c", 40}}, wantKeys: []string{"b", "c"}, wantBytes: 80, wantEvicted: 1},
		{name: "one large entry evicts several", maxBytes: 100, maxEntries: 10,
			ops: []op{{"a", 30}, {"b", 30}, {"c", 30}, {"d", 90}}, wantKeys: []string{"d"}, wantBytes: 90, wantEvicted: 3},
		{name: "count evicts the oldest", maxBytes: 100, maxEntries: 2,
			ops: []op{{"a", 1}, {"b", 1}, {"c", 1}}, wantKeys: []string{"b", "c"}, wantBytes: 2, wantEvicted: 1},
		{name: "an entry over the whole bound is not stored", maxBytes: 100, maxEntries: 10,
			ops: []op{{"a", 10}, {"b", 101}}, wantKeys: []string{"a"}, wantBytes: 10},
		{name: "a replacement is charged once and is no eviction", maxBytes: 100, maxEntries: 10,
			ops: []op{{"a", 60}, {"a", 70}}, wantKeys: []string{"a"}, wantBytes: 70},
		{name: "a removal uncharges", maxBytes: 100, maxEntries: 10,
			ops: []op{{"a", 60}, {"b", 30}, {"a", 0}}, wantKeys: []string{"b"}, wantBytes: 30},
		{name: "a removed key makes room without eviction", maxBytes: 100, maxEntries: 10,
			ops: []op{{"a", 60}, {"a", 0}, {"b", 60}}, wantKeys: []string{"b"}, wantBytes: 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New[string, int](tt.maxBytes, tt.maxEntries)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range tt.ops {
				if o.size == 0 {
					c.Remove(o.key)
					continue
				}
				c.Add(o.key, int(o.size), o.size)
			}
			st := c.Stats()
			if got := fmt.Sprint(c.Keys()); got != fmt.Sprint(tt.wantKeys) {
				t.Errorf("keys = %s, want %v", got, tt.wantKeys)
			}
			if st.Bytes != tt.wantBytes || st.Evicted != tt.wantEvicted || st.Entries != len(tt.wantKeys) {
				t.Errorf("Stats() = %+v, want %d bytes, %d evicted", st, tt.wantBytes, tt.wantEvicted)
			}
		})
	}
}

// TestConcurrentAccounting checks that the byte count stays exact while adds, replacements and
// removals of the same keys race.
func TestConcurrentAccounting(t *testing.T) {
	c, err := New[int, int](1000, 50)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				k := (i * (g + 1)) % 80
				if i%3 == 0 {
					c.Remove(k)
				} else {
					c.Add(k, k, int64(1+k%30))
				}
			}
		})
	}
	wg.Wait()
	var sum int64
	for _, k := range c.Keys() {
		if _, ok := c.Peek(k); ok {
			sum += int64(1 + k%30)
		}
	}
	if st := c.Stats(); st.Bytes != sum || st.Bytes > st.MaxBytes || st.Entries > st.MaxEntries {
		t.Errorf("Stats() = %+v; the entries left are charged %d", st, sum)
	}
}

func TestNewRefusesNoBound(t *testing.T) {
	for _, tt := range []struct {
		name       string
		maxBytes   int64
		maxEntries int
	}{{name: "no bytes", maxEntries: 1}, {name: "no entries", maxBytes: 1}} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New[string, int](tt.maxBytes, tt.maxEntries); err == nil {
				t.Error("New succeeded; want an error")
			}
		})
	}
}
