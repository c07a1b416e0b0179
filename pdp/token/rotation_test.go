package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// verifyOK fails the test unless tok verifies.
func verifyOK(t *testing.T, v *Verifier, tok string) *Principal {
	t.Helper()
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return p
}

// verifyFails fails the test unless Verify returns an error wrapping every one of want.
func verifyFails(t *testing.T, v *Verifier, tok string, want ...error) {
	t.Helper()
	_, err := v.Verify(context.Background(), tok)
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Fatalf("err = %v, want %v", err, w)
		}
	}
}

// TestRemoteKeysRotation walks an IdP through a key rotation: a new kid is accepted on its first
// request, a withdrawn key stops working (cached tokens included) at the refresh that sees it gone.
func TestRemoteKeysRotation(t *testing.T) {
	f := newFixture(t)
	clk := newClock(testNow)
	srv := newJWKSServer(t, jwkEntry{pub: &f.rsa.PublicKey, kid: "rsa-1", alg: "RS256"})
	v := newRemoteVerifier(t, f.remoteConfig(srv.URL), clk, Deps{})
	if st := waitFirstFetch(t, v); !slices.Equal(st.KeyIDs, []string{"rsa-1"}) || st.Source != "jwks_url" || st.JWKSURL != srv.URL {
		t.Fatalf("after the first fetch: %+v", st)
	}
	oldTok := f.rs256(t, nil, claims(clm{"jti": "old"}))
	verifyOK(t, v, oldTok)

	// The IdP adds ec-1 and starts signing with it.
	srv.publish(t, jwkEntry{pub: &f.rsa.PublicKey, kid: "rsa-1", alg: "RS256"}, jwkEntry{pub: &f.ec.PublicKey, kid: "ec-1"})
	clk.advance(11 * time.Second)
	verifyOK(t, v, f.es256(t, nil, claims(clm{"jti": "new"})))
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2 (the new kid cost one)", n)
	}

	// The IdP withdraws rsa-1. Until a refresh sees that, rsa-1 tokens still verify; a refresh
	// (here caused by an unknown kid) drops the key and the cached rsa-1 token with it.
	srv.publish(t, jwkEntry{pub: &f.ec.PublicKey, kid: "ec-1"})
	verifyOK(t, v, oldTok)
	clk.advance(11 * time.Second)
	verifyFails(t, v, f.rs256(t, hdr{"kid": "rsa-2"}, claims(clm{"jti": "other"})), ErrInvalidToken, ErrUnknownKey)
	verifyFails(t, v, oldTok, ErrInvalidToken, ErrUnknownKey)
	verifyFails(t, v, f.rs256(t, nil, claims(clm{"jti": "fresh"})), ErrInvalidToken, ErrUnknownKey)
	verifyOK(t, v, f.es256(t, nil, claims(clm{"jti": "new-2"})))
	if st := v.Stats().Issuers[0]; !slices.Equal(st.KeyIDs, []string{"ec-1"}) || st.Fetches != 3 {
		t.Fatalf("after withdrawal: %+v", st)
	}
}

// TestRemoteKeysScheduledRefresh checks the refresh_interval schedule alone drops a withdrawn
// key, with no request asking for it.
func TestRemoteKeysScheduledRefresh(t *testing.T) {
	f := newFixture(t)
	clk := newClock(testNow)
	srv := newJWKSServer(t, jwkEntry{pub: &f.rsa.PublicKey, kid: "rsa-1", alg: "RS256"}, jwkEntry{pub: &f.ec.PublicKey, kid: "ec-1"})
	cfg := f.remoteConfig(srv.URL)
	cfg.Issuers[0].RefreshInterval = 20 * time.Millisecond
	v := newRemoteVerifier(t, cfg, clk, Deps{})
	waitFirstFetch(t, v)
	tok := f.rs256(t, nil, claims(nil))
	verifyOK(t, v, tok)
	srv.publish(t, jwkEntry{pub: &f.ec.PublicKey, kid: "ec-1"})
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(v.Stats().Issuers[0].KeyIDs, []string{"ec-1"}) {
		if time.Now().After(deadline) {
			t.Fatalf("the schedule never refreshed: %+v", v.Stats().Issuers[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
	verifyFails(t, v, tok, ErrInvalidToken, ErrUnknownKey)
}

// TestRemoteKeysOutageKeepsLastGood serves one bad answer per row after a good first fetch:
// each refresh fails, the last good keys keep verifying, and a token under an unknown kid is
// refused as invalid (401), not unavailable.
func TestRemoteKeysOutageKeepsLastGood(t *testing.T) {
	f := newFixture(t)
	good := jwkEntry{pub: &f.rsa.PublicKey, kid: "rsa-1", alg: "RS256"}
	tests := []struct {
		name   string
		break_ func(t *testing.T, s *jwksServer)
		want   string // in IssuerStats.LastError
	}{
		{name: "status 500", want: "status 500", break_: func(_ *testing.T, s *jwksServer) { s.answer(http.StatusInternalServerError, nil) }},
		{name: "not JSON", want: "not a JWK Set", break_: func(_ *testing.T, s *jwksServer) { s.answer(http.StatusOK, []byte("<html>")) }},
		{name: "over max_jwks_bytes", want: "too large", break_: func(_ *testing.T, s *jwksServer) {
			s.answer(http.StatusOK, []byte(`{"keys":[],"pad":"`+strings.Repeat("x", 5000)+`"}`))
		}},
		{name: "no usable key", want: "no usable keys", break_: func(t *testing.T, s *jwksServer) { s.publish(t) }},
		{name: "only a refused key", want: "no usable keys", break_: func(t *testing.T, s *jwksServer) {
			s.publish(t, jwkEntry{pub: loadPublicKey(t, "rsa1024.pub.pem"), kid: "small"})
		}},
		{name: "duplicate kid", want: "twice", break_: func(t *testing.T, s *jwksServer) {
			s.publish(t, jwkEntry{pub: &f.rsaOther.PublicKey, kid: "k"}, jwkEntry{pub: &f.ec.PublicKey, kid: "k"})
		}},
		{name: "duplicate member", want: "duplicate", break_: func(_ *testing.T, s *jwksServer) {
			s.answer(http.StatusOK, []byte(`{"keys":[],"keys":[]}`))
		}},
		{name: "timeout", want: "deadline", break_: func(_ *testing.T, s *jwksServer) { s.setDelay(3 * time.Second) }},
		{name: "server gone", want: "connect", break_: func(_ *testing.T, s *jwksServer) { s.Close() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock(testNow)
			srv := newJWKSServer(t, good)
			// A credential in the query must show neither in the status nor in its errors.
			cfg := f.remoteConfig(srv.URL + "/jwks?api_key=hush")
			cfg.Issuers[0].MaxJWKSBytes = 4096
			// Long enough that the first fetch succeeds on a loaded machine under -race,
			// short enough that the "timeout" row stays quick.
			cfg.Issuers[0].FetchTimeout = time.Second
			v := newRemoteVerifier(t, cfg, clk, Deps{})
			waitFirstFetch(t, v)
			tc.break_(t, srv)
			clk.advance(11 * time.Second)
			verifyFails(t, v, f.rs256(t, hdr{"kid": "rsa-9"}, claims(nil)), ErrInvalidToken, ErrUnknownKey)
			verifyOK(t, v, f.rs256(t, nil, claims(nil)))
			st := v.Stats().Issuers[0]
			if !slices.Equal(st.KeyIDs, []string{"rsa-1"}) || !strings.Contains(st.LastError, tc.want) {
				t.Fatalf("stats = %+v, want keys [rsa-1] and an error mentioning %q", st, tc.want)
			}
			if st.JWKSURL != srv.URL+"/jwks" || strings.Contains(st.LastError, "hush") {
				t.Fatalf("stats = %+v, want the key set URL and errors without its query", st)
			}
		})
	}
}

// TestRemoteKeysUnknownKidFlood sends waves of concurrent tokens under distinct unknown kids:
// each wave within refresh_rate_limit of the last fetch costs nothing, each wave after costs
// exactly one fetch, shared by all its requests.
func TestRemoteKeysUnknownKidFlood(t *testing.T) {
	f := newFixture(t)
	clk := newClock(testNow)
	srv := newJWKSServer(t, jwkEntry{pub: &f.rsa.PublicKey, kid: "rsa-1", alg: "RS256"})
	srv.setDelay(20 * time.Millisecond) // so that concurrent misses overlap a fetch in flight
	v := newRemoteVerifier(t, f.remoteConfig(srv.URL), clk, Deps{})
	waitFirstFetch(t, v)
	const perWave = 64
	tokens := make([]string, perWave)
	for i := range tokens {
		tokens[i] = f.rs256(t, hdr{"kid": fmt.Sprintf("flood-%d", i)}, claims(nil))
	}
	wave := func() {
		var wg sync.WaitGroup
		for _, tok := range tokens {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrUnknownKey) {
					t.Errorf("err = %v, want unknown key", err)
				}
			}()
		}
		wg.Wait()
	}
	for i, step := range []struct {
		advance time.Duration
		fetches int64
	}{
		{0, 1},                // within the rate limit of the first fetch: none
		{11 * time.Second, 2}, // one for the whole wave
		{5 * time.Second, 2},  // within the limit again
		{6 * time.Second, 3},  // past it
		{11 * time.Second, 4}, // and again
		{100 * time.Millisecond, 4},
	} {
		clk.advance(step.advance)
		wave()
		if n := srv.fetches.Load(); n != step.fetches {
			t.Fatalf("wave %d: fetches = %d, want %d", i, n, step.fetches)
		}
	}
	t.Logf("%d waves of %d unknown kids: %d fetches", 6, perWave, srv.fetches.Load())
}

// TestRemoteKeysUnavailableUntilKeysArrive starts with the IdP down: tokens get ErrUnavailable
// (503), startup does not fail, and the first request after the rate limit once the IdP is back
// gets its keys.
func TestRemoteKeysUnavailableUntilKeysArrive(t *testing.T) {
	f := newFixture(t)
	clk := newClock(testNow)
	srv := newJWKSServer(t)
	srv.answer(http.StatusServiceUnavailable, nil)
	v := newRemoteVerifier(t, f.remoteConfig(srv.URL), clk, Deps{})
	if st := waitFirstFetch(t, v); len(st.KeyIDs) != 0 || !strings.Contains(st.LastError, "503") {
		t.Fatalf("stats = %+v", st)
	}
	tok := f.rs256(t, nil, claims(nil))
	verifyFails(t, v, tok, ErrUnavailable)
	srv.publish(t, jwkEntry{pub: &f.rsa.PublicKey, kid: "rsa-1", alg: "RS256"})
	verifyFails(t, v, tok, ErrUnavailable) // within the rate limit: no new fetch yet
	clk.advance(11 * time.Second)
	verifyOK(t, v, tok)
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
}

// TestRemoteKeysFirstRequestJoinsStartupFetch verifies a token at once after New while the
// first fetch is still in flight: the request waits for it rather than failing.
func TestRemoteKeysFirstRequestJoinsStartupFetch(t *testing.T) {
	f := newFixture(t)
	srv := newJWKSServer(t, jwkEntry{pub: &f.rsa.PublicKey, kid: "rsa-1", alg: "RS256"})
	srv.setDelay(100 * time.Millisecond)
	v := newRemoteVerifier(t, f.remoteConfig(srv.URL), newClock(testNow), Deps{})
	verifyOK(t, v, f.rs256(t, nil, claims(nil)))
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}
}

// TestRemoteKeysWaitBoundedByRequest checks a request waits for a slow fetch no longer than its
// own context, and is answered ErrUnavailable when no keys are in hand.
func TestRemoteKeysWaitBoundedByRequest(t *testing.T) {
	f := newFixture(t)
	srv := newJWKSServer(t, jwkEntry{pub: &f.rsa.PublicKey, kid: "rsa-1", alg: "RS256"})
	srv.setDelay(time.Second)
	v := newRemoteVerifier(t, f.remoteConfig(srv.URL), newClock(testNow), Deps{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := v.Verify(ctx, f.rs256(t, nil, claims(nil)))
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want unavailable after the request's deadline", err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("waited %s for a request with a 50ms deadline", took)
	}
}

// TestRemoteKeysPolicy checks fetched keys pass the same policy as file keys: a 1024-bit RSA key
// and an encryption key are left out, their kids unknown, while the good key serves.
func TestRemoteKeysPolicy(t *testing.T) {
	f := newFixture(t)
	small := loadSmallRSA(t)
	srv := newJWKSServer(t)
	srv.answer(http.StatusOK, []byte(fmt.Sprintf(`{"keys":[%s,%s,%s]}`,
		mustJSON(t, jwkJSON(t, &f.rsa.PublicKey, false, map[string]any{"kid": "rsa-1", "use": "sig"})),
		mustJSON(t, jwkJSON(t, loadPublicKey(t, "rsa1024.pub.pem"), false, map[string]any{"kid": "small"})),
		mustJSON(t, jwkJSON(t, &f.rsaOther.PublicKey, false, map[string]any{"kid": "enc", "use": "enc"})))))
	clk := newClock(testNow)
	v := newRemoteVerifier(t, f.remoteConfig(srv.URL), clk, Deps{})
	if st := waitFirstFetch(t, v); !slices.Equal(st.KeyIDs, []string{"rsa-1"}) {
		t.Fatalf("keys = %v, want [rsa-1]", st.KeyIDs)
	}
	clk.advance(11 * time.Second)
	verifyFails(t, v, sign(t, jwt.SigningMethodRS256, small, hdr{"kid": "small"}, claims(nil)), ErrInvalidToken, ErrUnknownKey)
	verifyFails(t, v, sign(t, jwt.SigningMethodRS256, f.rsaOther, hdr{"kid": "enc"}, claims(nil)), ErrInvalidToken, ErrUnknownKey)
	verifyOK(t, v, f.rs256(t, nil, claims(nil)))
}
