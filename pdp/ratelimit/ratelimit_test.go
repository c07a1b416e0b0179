package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestAllow(t *testing.T) {
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	l, err := New(2, 3, 10, c.Now) // 2 a second, 3 at once
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		key       string
		advance   time.Duration
		want      bool
		wantAfter time.Duration
	}{
		{name: "burst 1", key: "a", want: true},
		{name: "burst 2", key: "a", want: true},
		{name: "burst 3", key: "a", want: true},
		{name: "over the burst", key: "a", want: false, wantAfter: 500 * time.Millisecond},
		{name: "another key has its own bucket", key: "b", want: true},
		{name: "a quarter second refills half a token", key: "a", advance: 250 * time.Millisecond, want: false, wantAfter: 250 * time.Millisecond},
		{name: "half a second refills one", key: "a", advance: 250 * time.Millisecond, want: true},
		{name: "a long pause refills only to the burst", key: "a", advance: time.Hour, want: true},
		{name: "second of the refilled burst", key: "a", want: true},
		{name: "third of the refilled burst", key: "a", want: true},
		{name: "empty again", key: "a", want: false, wantAfter: 500 * time.Millisecond},
	}
	for _, st := range steps {
		c.now = c.now.Add(st.advance)
		ok, after := l.Allow(st.key)
		if ok != st.want || after != st.wantAfter {
			t.Errorf("%s: Allow(%q) = %v, %v; want %v, %v", st.name, st.key, ok, after, st.want, st.wantAfter)
		}
	}
}

func TestBounded(t *testing.T) {
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	l, err := New(1, 1, 100, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		l.Allow(fmt.Sprint("client-", i))
	}
	if n := l.Len(); n != 100 {
		t.Errorf("Len = %d after 1000 keys, want the bound 100", n)
	}
	if ok, _ := l.Allow("client-999"); ok {
		t.Error("a recent key lost its empty bucket")
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name           string
		rate           float64
		burst, maxKeys int
	}{
		{name: "zero rate", rate: 0, burst: 1, maxKeys: 1},
		{name: "zero burst", rate: 1, burst: 0, maxKeys: 1},
		{name: "zero keys", rate: 1, burst: 1, maxKeys: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.rate, tt.burst, tt.maxKeys, nil); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

// BenchmarkAllow is the cost added to each request when rate limiting is on, over 10,000
// clients.
func BenchmarkAllow(b *testing.B) {
	l, err := New(1e9, 1e9, 10000, nil)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = fmt.Sprint("client-", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		l.Allow(keys[i%len(keys)])
	}
}
