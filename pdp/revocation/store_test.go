package revocation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/revocation/revocationtest"
	"github.com/verdict-pdp/verdict/pdp/token"
)

const iss = "https://idp.example.com"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testConfig(store, target string) Config {
	cfg := Config{
		Revocation:    config.Revocation{Store: store, OnStoreError: OnErrorDeny},
		Retention:     time.Hour,
		Leeway:        30 * time.Second,
		PurgeInterval: time.Hour,
		CheckTimeout:  DefaultCheckTimeout,
	}
	if store == StoreFile {
		cfg.Path = target
	} else {
		cfg.RedisURL = target
	}
	return cfg
}

// openTest opens a store closed at the end of the test, with a fresh metrics registry.
func openTest(t *testing.T, cfg Config, now func() time.Time) (*Store, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := Open(context.Background(), cfg, Deps{Now: now, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, reg
}

// backends yields a config for each backend: a file in a temp dir and a real redis-server.
func backends(t *testing.T) map[string]Config {
	t.Helper()
	return map[string]Config{
		StoreFile:  testConfig(StoreFile, filepath.Join(t.TempDir(), "state", "revocations.db")),
		StoreRedis: testConfig(StoreRedis, revocationtest.StartRedis(t).URL),
	}
}

func principal(jti, sub string, iat time.Time) *token.Principal {
	return &token.Principal{Kind: "jwt", Issuer: iss, Subject: sub, TokenID: jti, IssuedAt: iat,
		ExpiresAt: iat.Add(10 * time.Minute)}
}

func TestRevoked(t *testing.T) {
	for name, cfg := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := openTest(t, cfg, nil)
			now := time.Now()
			if _, err := s.RevokeToken(ctx, iss, "jti-revoked", now.Add(10*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RevokeSubject(ctx, iss, "mallory", now); err != nil {
				t.Fatal(err)
			}
			// An earlier not-before must not shorten the revocation.
			if _, err := s.RevokeSubject(ctx, iss, "mallory", now.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name string
				p    *token.Principal
				want bool
			}{
				{name: "revoked jti", p: principal("jti-revoked", "alice", now), want: true},
				{name: "other jti", p: principal("jti-other", "alice", now), want: false},
				{name: "revoked jti of another issuer", p: func() *token.Principal {
					p := principal("jti-revoked", "alice", now)
					p.Issuer = "https://other.example.com"
					return p
				}(), want: false},
				{name: "token without jti", p: principal("", "alice", now), want: false},
				{name: "subject token issued before not-before", p: principal("m1", "mallory", now.Add(-time.Minute)), want: true},
				{name: "subject token issued after an earlier not-before but before the later one",
					p: principal("m2", "mallory", now.Add(-30*time.Minute)), want: true},
				{name: "subject token issued after not-before", p: principal("m3", "mallory", now.Add(2*time.Second)), want: false},
				{name: "subject token without iat", p: principal("m4", "mallory", time.Time{}), want: true},
				{name: "subject token without jti", p: principal("", "mallory", now.Add(-time.Minute)), want: true},
				{name: "other subject", p: principal("b1", "bob", now.Add(-time.Minute)), want: false},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, err := s.Revoked(ctx, tt.p)
					if err != nil {
						t.Fatal(err)
					}
					if got != tt.want {
						t.Errorf("Revoked = %v, want %v", got, tt.want)
					}
				})
			}
		})
	}
}

func TestRevokeInvalid(t *testing.T) {
	s, _ := openTest(t, testConfig(StoreFile, filepath.Join(t.TempDir(), "r.db")), nil)
	ctx := context.Background()
	tests := []struct {
		name   string
		revoke func() (Record, error)
	}{
		{name: "token without issuer", revoke: func() (Record, error) { return s.RevokeToken(ctx, "", "j", time.Time{}) }},
		{name: "token without jti", revoke: func() (Record, error) { return s.RevokeToken(ctx, iss, "", time.Time{}) }},
		{name: "subject without sub", revoke: func() (Record, error) { return s.RevokeSubject(ctx, iss, "", time.Now()) }},
		{name: "subject without not-before", revoke: func() (Record, error) { return s.RevokeSubject(ctx, iss, "a", time.Time{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.revoke(); !errors.Is(err, ErrInvalid) {
				t.Errorf("error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestRecordExpiry(t *testing.T) {
	tests := []struct {
		name string
		// revoke records one revocation at the clock's time.
		revoke func(s *Store, now time.Time) (Record, error)
		p      func(now time.Time) *token.Principal
		// still is a moment the record must hold; gone a moment it must have lapsed.
		still, gone time.Duration
		expires     time.Duration
	}{
		{name: "token lives until exp plus leeway",
			revoke: func(s *Store, now time.Time) (Record, error) {
				return s.RevokeToken(context.Background(), iss, "j1", now.Add(10*time.Minute))
			},
			p:     func(now time.Time) *token.Principal { return principal("j1", "alice", now) },
			still: 10*time.Minute + 29*time.Second, gone: 10*time.Minute + 31*time.Second,
			expires: 10*time.Minute + 30*time.Second},
		{name: "token without exp lives for the retention",
			revoke: func(s *Store, now time.Time) (Record, error) {
				return s.RevokeToken(context.Background(), iss, "j2", time.Time{})
			},
			p:     func(now time.Time) *token.Principal { return principal("j2", "alice", now) },
			still: 59 * time.Minute, gone: 61 * time.Minute, expires: time.Hour},
		{name: "subject not-before lives for the retention",
			revoke: func(s *Store, now time.Time) (Record, error) {
				return s.RevokeSubject(context.Background(), iss, "mallory", now)
			},
			p:     func(now time.Time) *token.Principal { return principal("m", "mallory", now.Add(-time.Second)) },
			still: 59 * time.Minute, gone: 61 * time.Minute, expires: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			start := clk.Now()
			s, _ := openTest(t, testConfig(StoreFile, filepath.Join(t.TempDir(), "r.db")), clk.Now)
			rec, err := tt.revoke(s, start)
			if err != nil {
				t.Fatal(err)
			}
			if !rec.Expires.Equal(start.Add(tt.expires)) {
				t.Errorf("Expires = %v, want %v", rec.Expires, start.Add(tt.expires))
			}
			clk.Advance(tt.still)
			if got, _ := s.Revoked(context.Background(), tt.p(start)); !got {
				t.Errorf("not revoked %v after recording", tt.still)
			}
			clk.Advance(tt.gone - tt.still)
			if got, _ := s.Revoked(context.Background(), tt.p(start)); got {
				t.Errorf("still revoked %v after recording", tt.gone)
			}
			n, err := s.b.(*fileBackend).purge()
			if err != nil || n != 1 {
				t.Errorf("purge = %d, %v; want 1 record", n, err)
			}
		})
	}
}

func TestAlreadyExpiredIsNotStored(t *testing.T) {
	s, _ := openTest(t, testConfig(StoreFile, filepath.Join(t.TempDir(), "r.db")), nil)
	exp := time.Now().Add(-time.Hour)
	rec, err := s.RevokeToken(context.Background(), iss, "old", exp)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Expires.Equal(exp.Add(30 * time.Second)) {
		t.Errorf("Expires = %v", rec.Expires)
	}
	if n, _ := s.b.(*fileBackend).purge(); n != 0 {
		t.Errorf("an expired revocation was written (%d purged)", n)
	}
}

func TestFileStoreSurvivesReopen(t *testing.T) {
	cfg := testConfig(StoreFile, filepath.Join(t.TempDir(), "nested", "dir", "revocations.db"))
	ctx := context.Background()
	now := time.Now()
	s, err := Open(ctx, cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeToken(ctx, iss, "j1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeSubject(ctx, iss, "mallory", now); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openTest(t, cfg, nil)
	for _, p := range []*token.Principal{principal("j1", "alice", now), principal("m", "mallory", now.Add(-time.Second))} {
		if got, err := s.Revoked(ctx, p); err != nil || !got {
			t.Errorf("after reopening, Revoked(%s/%s) = %v, %v", p.Subject, p.TokenID, got, err)
		}
	}
}

func TestFileStoreIsLocked(t *testing.T) {
	cfg := testConfig(StoreFile, filepath.Join(t.TempDir(), "r.db"))
	openTest(t, cfg, nil)
	start := time.Now()
	s, err := Open(context.Background(), cfg, Deps{})
	if err == nil {
		_ = s.Close()
		t.Fatal("a second store opened a file already in use")
	}
	if waited := time.Since(start); waited > 500*time.Millisecond {
		t.Errorf("gave up after %v, want at once", waited)
	}
	if !errors.Is(err, ErrInUse) {
		t.Errorf("error = %v, want ErrInUse", err)
	}
	for _, want := range []string{cfg.Path, "another", "data_dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestRedisKeysAndTTL(t *testing.T) {
	srv := revocationtest.StartRedis(t)
	s, _ := openTest(t, testConfig(StoreRedis, srv.URL), nil)
	r := s.b.(*redisBackend)
	ctx := context.Background()
	now := time.Now()
	if _, err := s.RevokeToken(ctx, iss, "j1", now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// A shorter expiry must not cut the key's TTL.
	if _, err := s.RevokeToken(ctx, iss, "j1", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeSubject(ctx, iss, "mallory", now); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		key      string
		ttl      time.Duration // expected, within two seconds
		checkVal func(string) bool
	}{
		{name: "jti key", key: redisKey(RedisKeyToken, keyOf(iss, "j1")), ttl: 10*time.Minute + 30*time.Second,
			checkVal: func(v string) bool { return v == "1" }},
		{name: "subject key", key: redisKey(RedisKeySub, keyOf(iss, "mallory")), ttl: time.Hour,
			checkVal: func(v string) bool { return v != "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ttl, err := r.rdb.PTTL(ctx, tt.key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if d := tt.ttl - ttl; d < 0 || d > 2*time.Second {
				t.Errorf("TTL = %v, want about %v", ttl, tt.ttl)
			}
			if v, err := r.rdb.Get(ctx, tt.key).Result(); err != nil || !tt.checkVal(v) {
				t.Errorf("value = %q, %v", v, err)
			}
		})
	}
}

func TestRedisKeyExpires(t *testing.T) {
	srv := revocationtest.StartRedis(t)
	cfg := testConfig(StoreRedis, srv.URL)
	cfg.Leeway = 0
	s, _ := openTest(t, cfg, nil)
	ctx := context.Background()
	now := time.Now()
	p := principal("short", "alice", now)
	// A TTL long enough that the first check lands before it on a loaded machine.
	if _, err := s.RevokeToken(ctx, iss, "short", now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Revoked(ctx, p); err != nil || !got {
		t.Fatalf("Revoked = %v, %v right after revoking", got, err)
	}
	time.Sleep(time.Until(now.Add(1300 * time.Millisecond)))
	if got, err := s.Revoked(ctx, p); err != nil || got {
		t.Errorf("Revoked = %v, %v after the key's TTL", got, err)
	}
}

// TestRedisSharedBetweenReplicas checks that a revocation recorded by one replica is enforced
// by another on its next check: replicas share Redis and announce nothing to each other.
func TestRedisSharedBetweenReplicas(t *testing.T) {
	srv := revocationtest.StartRedis(t)
	a, _ := openTest(t, testConfig(StoreRedis, srv.URL), nil)
	b, _ := openTest(t, testConfig(StoreRedis, srv.URL), nil)
	ctx := context.Background()
	now := time.Now()
	if _, err := a.RevokeSubject(ctx, iss, "mallory", now); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RevokeToken(ctx, iss, "j1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*token.Principal{principal("x", "mallory", now.Add(-time.Second)), principal("j1", "alice", now)} {
		if got, err := b.Revoked(ctx, p); err != nil || !got {
			t.Errorf("other replica: Revoked(%s, %s) = %v, %v; want true", p.TokenID, p.Subject, got, err)
		}
	}
}

func TestOnStoreError(t *testing.T) {
	tests := []struct {
		name        string
		onError     string
		wantErr     bool
		wantOutcome string
	}{
		{name: "deny refuses while redis is down", onError: OnErrorDeny, wantErr: true, wantOutcome: "check_denied"},
		{name: "allow serves while redis is down", onError: OnErrorAllow, wantErr: false, wantOutcome: "check_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := revocationtest.StartRedis(t)
			cfg := testConfig(StoreRedis, srv.URL)
			cfg.OnStoreError = tt.onError
			s, reg := openTest(t, cfg, nil)
			ctx := context.Background()
			p := principal("j1", "alice", time.Now())
			if got, err := s.Revoked(ctx, p); err != nil || got {
				t.Fatalf("with redis up: Revoked = %v, %v", got, err)
			}
			srv.Stop()
			start := time.Now()
			got, err := s.Revoked(ctx, p)
			if took := time.Since(start); took > 2*cfg.CheckTimeout {
				t.Errorf("the failed check took %v", took)
			}
			if got {
				t.Error("Revoked = true with the store down")
			}
			if tt.wantErr != (err != nil) || (err != nil && !errors.Is(err, ErrUnavailable)) {
				t.Errorf("error = %v, want an ErrUnavailable: %v", err, tt.wantErr)
			}
			if n := counter(t, reg, "verdict_revocation_store_errors_total", tt.wantOutcome); n != 1 {
				t.Errorf("%s errors = %v, want 1", tt.wantOutcome, n)
			}
			if _, err := s.RevokeToken(ctx, iss, "j2", time.Time{}); !errors.Is(err, ErrUnavailable) {
				t.Errorf("a write with the store down: %v, want ErrUnavailable", err)
			}
			if n := counter(t, reg, "verdict_revocation_store_errors_total", "write"); n != 1 {
				t.Errorf("write errors = %v, want 1", n)
			}
		})
	}
}

// counter reads the value of the series of a counter vector whose only label has value label.
func counter(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestCanceledCheckIsNeverAllowed(t *testing.T) {
	srv := revocationtest.StartRedis(t)
	cfg := testConfig(StoreRedis, srv.URL)
	cfg.OnStoreError = OnErrorAllow
	s, _ := openTest(t, cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Revoked(ctx, principal("j", "alice", time.Now())); err == nil {
		t.Error("a canceled check was allowed")
	}
}

func TestConfigFrom(t *testing.T) {
	issuer := func(maxLifetime, leeway time.Duration) config.Issuer {
		return config.Issuer{Issuer: iss, MaxLifetime: maxLifetime, Leeway: &leeway}
	}
	tests := []struct {
		name          string
		tokens        config.Tokens
		wantRetention time.Duration
		wantLeeway    time.Duration
	}{
		{name: "no issuers", wantRetention: DefaultRetention},
		{name: "capped issuers", tokens: config.Tokens{Issuers: []config.Issuer{issuer(time.Hour, 30*time.Second), issuer(2*time.Hour, time.Minute)}},
			wantRetention: 2*time.Hour + time.Minute, wantLeeway: time.Minute},
		{name: "one uncapped issuer", tokens: config.Tokens{Issuers: []config.Issuer{issuer(time.Hour, 0), issuer(0, 30*time.Second)}},
			wantRetention: DefaultRetention + 30*time.Second, wantLeeway: 30 * time.Second},
		{name: "introspection", tokens: config.Tokens{Issuers: []config.Issuer{issuer(time.Hour, 0)}, Introspection: &config.Introspection{}},
			wantRetention: DefaultRetention},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			c.Tokens = tt.tokens
			got := ConfigFrom(c)
			if got.Retention != tt.wantRetention || got.Leeway != tt.wantLeeway {
				t.Errorf("retention %v, leeway %v; want %v, %v", got.Retention, got.Leeway, tt.wantRetention, tt.wantLeeway)
			}
			if err := got.validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{name: "unknown store", edit: func(c *Config) { c.Store = "memory" }},
		{name: "unknown on_store_error", edit: func(c *Config) { c.OnStoreError = "maybe" }},
		{name: "file without path", edit: func(c *Config) { c.Path = "" }},
		{name: "redis without url", edit: func(c *Config) { c.Store, c.RedisURL = StoreRedis, "" }},
		{name: "bad redis url", edit: func(c *Config) { c.Store, c.RedisURL = StoreRedis, "http://x" }},
		{name: "no retention", edit: func(c *Config) { c.Retention = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(StoreFile, filepath.Join(t.TempDir(), "r.db"))
			tt.edit(&cfg)
			if s, err := Open(context.Background(), cfg, Deps{}); err == nil {
				_ = s.Close()
				t.Error("Open accepted the configuration")
			}
		})
	}
}

// TestTimesOutOfRange sends each backend the times that used to undo or wrap a revocation: the
// file store took far-future ones and wrapped their nanoseconds into the past, so a token revoked
// a moment before passed again, and wrapped a not-before in 1600 into the far future, locking
// the subject out; Redis answered them as a store failure. Now both refuse them as invalid and
// keep what was recorded.
func TestTimesOutOfRange(t *testing.T) {
	date := func(s string) time.Time {
		d, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name   string
		field  string
		revoke func(s *Store) (Record, error)
	}{
		{name: "exp 9999-12-31T23:59:59Z", field: "exp", revoke: func(s *Store) (Record, error) {
			return s.RevokeToken(context.Background(), iss, "j1", date("9999-12-31T23:59:59Z"))
		}},
		{name: "exp 2262-04-11T23:47:17Z", field: "exp", revoke: func(s *Store) (Record, error) {
			return s.RevokeToken(context.Background(), iss, "j1", date("2262-04-11T23:47:17Z"))
		}},
		{name: "exp 11000000000 seconds", field: "exp", revoke: func(s *Store) (Record, error) {
			return s.RevokeToken(context.Background(), iss, "j1", time.Unix(11000000000, 0))
		}},
		{name: "exp at MaxTime", field: "exp", revoke: func(s *Store) (Record, error) {
			return s.RevokeToken(context.Background(), iss, "j1", token.LatestTime())
		}},
		{name: "exp before 1970", field: "exp", revoke: func(s *Store) (Record, error) {
			return s.RevokeToken(context.Background(), iss, "j1", time.Unix(-5, 0))
		}},
		{name: "not_before 1600-01-01T00:00:00Z", field: "not_before", revoke: func(s *Store) (Record, error) {
			return s.RevokeSubject(context.Background(), iss, "alice", date("1600-01-01T00:00:00Z"))
		}},
		{name: "not_before 9999-12-31T23:59:59Z", field: "not_before", revoke: func(s *Store) (Record, error) {
			return s.RevokeSubject(context.Background(), iss, "alice", date("9999-12-31T23:59:59Z"))
		}},
	}
	for name, cfg := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s, _ := openTest(t, cfg, nil)
			now := time.Now()
			if _, err := s.RevokeToken(context.Background(), iss, "j1", now.Add(10*time.Minute)); err != nil {
				t.Fatal(err)
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					_, err := tt.revoke(s)
					switch {
					case !errors.Is(err, ErrInvalid) || !errors.Is(err, token.ErrTimeRange):
						t.Errorf("error = %v, want ErrInvalid and token.ErrTimeRange", err)
					case !strings.Contains(err.Error(), tt.field+" ") || !strings.Contains(err.Error(), token.MaxTime):
						t.Errorf("error %q does not name %s and the range", err, tt.field)
					}
					if got, err := s.Revoked(context.Background(), principal("j1", "alice", now)); err != nil || !got {
						t.Errorf("the token revoked first: Revoked = %v, %v", got, err)
					}
					if got, err := s.Revoked(context.Background(), principal("j2", "alice", now)); err != nil || got {
						t.Errorf("another token of the subject: Revoked = %v, %v", got, err)
					}
				})
			}
		})
	}
}

// TestRevocationOnlyGrows asks each backend to revoke again with an earlier exp or not-before,
// and expects the first, longer revocation to hold.
func TestRevocationOnlyGrows(t *testing.T) {
	for name, cfg := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg.Leeway = 0
			s, _ := openTest(t, cfg, nil)
			ctx := context.Background()
			now := time.Now()
			if _, err := s.RevokeToken(ctx, iss, "j1", now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RevokeSubject(ctx, iss, "mallory", now); err != nil {
				t.Fatal(err)
			}
			// Later calls naming earlier times: a short exp, one already past, an older not-before.
			for _, exp := range []time.Time{now.Add(time.Second), now.Add(-time.Hour)} {
				if _, err := s.RevokeToken(ctx, iss, "j1", exp); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.RevokeSubject(ctx, iss, "mallory", now.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Until(now.Add(1300 * time.Millisecond)))
			for _, p := range []*token.Principal{principal("j1", "alice", now), principal("m", "mallory", now.Add(-time.Minute))} {
				if got, err := s.Revoked(ctx, p); err != nil || !got {
					t.Errorf("Revoked(%s/%s) = %v, %v after a shorter revocation", p.Subject, p.TokenID, got, err)
				}
			}
		})
	}
}

// TestLongRetentionIsCapped gives a retention that carries a subject revocation past 2262, where
// the file store's nanoseconds wrap around: the record is capped at token.MaxTime plus leeway,
// which no accepted token outlives, and it holds.
func TestLongRetentionIsCapped(t *testing.T) {
	for name, cfg := range backends(t) {
		t.Run(name, func(t *testing.T) {
			cfg.Retention = 250 * 365 * 24 * time.Hour
			s, _ := openTest(t, cfg, nil)
			now := time.Now()
			rec, err := s.RevokeSubject(context.Background(), iss, "mallory", now)
			if err != nil {
				t.Fatal(err)
			}
			if want := token.LatestTime().Add(cfg.Leeway); !rec.Expires.Equal(want) {
				t.Errorf("Expires = %v, want %v", rec.Expires, want)
			}
			if got, err := s.Revoked(context.Background(), principal("m", "mallory", now.Add(-time.Minute))); err != nil || !got {
				t.Errorf("Revoked = %v, %v", got, err)
			}
		})
	}
}

// TestFileStoreDamaged opens damaged copies of a store file. Each must be refused with
// ErrDamaged and a message naming the file and the way out, leave the file as it was, and never
// panic: before, an empty file opened as an empty store (revoked tokens passed again) and damaged
// pages crashed the process in bbolt.
func TestFileStoreDamaged(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.db")
	s, err := Open(context.Background(), testConfig(StoreFile, good), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	fillFileStore(t, s, 3000)
	var root int // the page holding the root of the tokens bucket
	_ = s.b.(*fileBackend).db.View(func(tx *bolt.Tx) error {
		root = int(tx.Bucket(bucketTokens).Root())
		return nil
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	overwrite := func(from, to int) []byte {
		b := bytes.Clone(whole)
		for i := from; i < to; i++ {
			b[i] = 0xA5
		}
		return b
	}
	tests := []struct {
		name string
		data []byte
	}{
		{name: "empty", data: []byte{}},
		{name: "truncated to one page", data: whole[:page]},
		{name: "truncated to half", data: whole[:len(whole)/2/page*page]},
		{name: "not a bbolt file", data: []byte("revocations: none, honest\n")},
		{name: "both meta pages overwritten", data: overwrite(0, 2*page)},
		{name: "root page of the tokens bucket overwritten", data: overwrite(root*page, root*page+page)},
		{name: "a page in the middle overwritten", data: overwrite(len(whole)/2/page*page, len(whole)/2/page*page+page)},
		{name: "everything after the meta pages overwritten", data: overwrite(2*page, len(whole))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "revocations.db")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(context.Background(), testConfig(StoreFile, path), Deps{})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open accepted a damaged file")
			}
			if !errors.Is(err, ErrDamaged) {
				t.Errorf("error = %v, want ErrDamaged", err)
			}
			for _, want := range []string{path, "backup", "move it aside"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, tt.data) {
				t.Error("the damaged file was changed")
			}
		})
	}
}

// fillFileStore writes n token revocations, live for an hour, in one transaction.
func fillFileStore(t testing.TB, s *Store, n int) {
	t.Helper()
	until := nanos(time.Now().Add(time.Hour))
	err := s.b.(*fileBackend).db.Update(func(tx *bolt.Tx) error {
		for i := range n {
			key := keyOf(iss, fmt.Sprintf("jti-%d", i))
			if err := tx.Bucket(bucketTokens).Put(key[:], until); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStoreErrorSeriesStartAtZero checks that every outcome of
// verdict_revocation_store_errors_total is exported before any failure, so an alert on
// increase() sees the first one.
func TestStoreErrorSeriesStartAtZero(t *testing.T) {
	_, reg := openTest(t, testConfig(StoreFile, filepath.Join(t.TempDir(), "r.db")), nil)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range families {
		if f.GetName() == "verdict_revocation_store_errors_total" {
			for _, m := range f.GetMetric() {
				found[m.GetLabel()[0].GetValue()] = true
			}
		}
	}
	for _, outcome := range []string{"write", "check_denied", "check_allowed"} {
		if !found[outcome] {
			t.Errorf("no %s series before the first failure", outcome)
		}
	}
}
