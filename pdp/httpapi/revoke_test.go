package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/decisionlog"
	"github.com/verdict-pdp/verdict/pdp/revocation"
	"github.com/verdict-pdp/verdict/pdp/token"
)

const (
	adminKey    = "admin-key-0123456789abcdef"
	revokeIss   = "https://idp.test"
	revokeClock = 1_800_000_000 // the test server's now, in Unix seconds
)

func digestOf(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// revokeNow is the test server's clock.
var revokeNow = time.Unix(revokeClock, 0)

// recordingRevoker records what it is asked to revoke, or fails with err.
type recordingRevoker struct {
	mu    sync.Mutex
	calls []revocation.Record
	err   error
}

func (r *recordingRevoker) RevokeToken(_ context.Context, iss, jti string, exp time.Time) (revocation.Record, error) {
	return r.record(revocation.Record{Issuer: iss, TokenID: jti, Expires: exp})
}

func (r *recordingRevoker) RevokeSubject(_ context.Context, iss, sub string, notBefore time.Time) (revocation.Record, error) {
	return r.record(revocation.Record{Issuer: iss, Subject: sub, NotBefore: notBefore})
}

func (r *recordingRevoker) record(rec revocation.Record) (revocation.Record, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return revocation.Record{}, r.err
	}
	r.calls = append(r.calls, rec)
	return rec, nil
}

// revokeVerifier knows a few tokens by name; "offline" cannot be checked.
var revokeVerifier = verifierFunc(func(_ context.Context, raw string) (*token.Principal, error) {
	exp := revokeNow.Add(time.Hour)
	switch raw {
	case "good-token":
		return &token.Principal{Kind: "jwt", Issuer: revokeIss, Subject: "alice", TokenID: "jti-1", ExpiresAt: exp}, nil
	case "no-jti-token":
		return &token.Principal{Kind: "jwt", Issuer: revokeIss, Subject: "alice", ExpiresAt: exp}, nil
	case "no-iss-token": // an introspection answer without iss, no configured issuer
		return &token.Principal{Kind: "opaque", Subject: "alice", TokenID: "jti-2", ExpiresAt: exp}, nil
	case "offline":
		return nil, fmt.Errorf("%w: keys unavailable", token.ErrUnavailable)
	default:
		return nil, fmt.Errorf("%w: unknown test token", token.ErrInvalidToken)
	}
})

type verifierFunc func(ctx context.Context, raw string) (*token.Principal, error)

func (f verifierFunc) Verify(ctx context.Context, raw string) (*token.Principal, error) {
	return f(ctx, raw)
}

// newRevokeServer builds a Server with only what the revocation endpoints use.
func newRevokeServer(t *testing.T, adminDigests []string, rev Revoker) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Admin.APIKeysSHA256 = adminDigests
	cfg.Tokens.Issuers = []config.Issuer{{Issuer: revokeIss}}
	cfg.Server.MaxBodyBytes = 1024
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	s, err := New(cfg, Deps{Tokens: revokeVerifier, DecisionLog: decisionlog.Discard(), Logger: log, Registry: reg,
		Gatherer: reg, Now: func() time.Time { return revokeNow }, Revocations: rev})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func form(values ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(values); i += 2 {
		v.Add(values[i], values[i+1])
	}
	return v.Encode()
}

func TestAdminAuth(t *testing.T) {
	withKeys := []string{digestOf("another-key"), strings.ToUpper(digestOf(adminKey))}
	tests := []struct {
		name      string
		digests   []string
		headers   []string
		status    int
		code      string
		challenge string
		message   string // substring of error.message
	}{
		{name: "admin API disabled", headers: []string{"X-API-Key", adminKey}, status: 403, code: CodeAccessDenied},
		{name: "no key", digests: withKeys, status: 401, code: CodeUnauthorized, challenge: `Bearer realm="verdict"`,
			message: "an admin API key is required"},
		{name: "wrong bearer key", digests: withKeys, headers: []string{"Authorization", "Bearer wrong-key"}, status: 401,
			code: CodeInvalidToken, challenge: `error="invalid_token", error_description="the admin API key is not accepted"`,
			message: "the admin API key is not accepted"},
		{name: "wrong X-API-Key", digests: withKeys, headers: []string{"X-API-Key", "wrong-key"}, status: 401,
			code: CodeInvalidToken, challenge: `error="invalid_token"`, message: "the admin API key is not accepted"},
		{name: "another scheme", digests: withKeys, headers: []string{"Authorization", "Basic " + adminKey}, status: 401,
			code: CodeUnauthorized, challenge: `Bearer realm="verdict"`, message: "an admin API key is required"},
		{name: "the digest itself as key", digests: withKeys, headers: []string{"X-API-Key", digestOf(adminKey)}, status: 401,
			code: CodeInvalidToken},
		{name: "bearer key", digests: withKeys, headers: []string{"Authorization", "Bearer " + adminKey}, status: 200},
		{name: "X-API-Key", digests: withKeys, headers: []string{"X-API-Key", adminKey}, status: 200},
	}
	for _, tt := range tests {
		for _, endpoint := range []struct{ path, body, contentType string }{
			{pathRevoke, form("token", "good-token"), formContentType},
			{pathAdminRevocations, `{"iss":"` + revokeIss + `","jti":"j"}`, "application/json"},
		} {
			t.Run(tt.name+" "+endpoint.path, func(t *testing.T) {
				rev := &recordingRevoker{}
				s := newRevokeServer(t, tt.digests, rev)
				rec := send(t, s, http.MethodPost, endpoint.path, endpoint.body,
					append([]string{"Content-Type", endpoint.contentType}, tt.headers...)...)
				if rec.Code != tt.status {
					t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
				}
				if tt.status != 200 {
					e := jsonBody(t, rec)["error"].(map[string]any)
					if e["code"] != tt.code {
						t.Errorf("code %v, want %s", e["code"], tt.code)
					}
					if msg, _ := e["message"].(string); !strings.Contains(msg, tt.message) {
						t.Errorf("message %q lacks %q", msg, tt.message)
					}
					if len(rev.calls) != 0 {
						t.Errorf("an unauthenticated request revoked %v", rev.calls)
					}
				}
				if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) {
					t.Errorf("WWW-Authenticate %q lacks %q", got, tt.challenge)
				}
				if strings.Contains(rec.Body.String(), adminKey) {
					t.Error("the response echoes the admin key")
				}
			})
		}
	}
}

func TestRevokeEndpoint(t *testing.T) {
	auth := []string{"X-API-Key", adminKey}
	tests := []struct {
		name        string
		path        string // default pathRevoke
		contentType string // default form
		body        string
		storeErr    error
		status      int
		code        string
		want        *revocation.Record
	}{
		{name: "valid token is revoked until its exp", body: form("token", "good-token", "token_type_hint", "access_token"),
			status: 200, want: &revocation.Record{Issuer: revokeIss, TokenID: "jti-1", Expires: revokeNow.Add(time.Hour)}},
		{name: "unknown token hint is ignored", body: form("token", "good-token", "token_type_hint", "refresh_token"),
			status: 200, want: &revocation.Record{Issuer: revokeIss, TokenID: "jti-1", Expires: revokeNow.Add(time.Hour)}},
		{name: "token that does not verify is a 200 no-op", body: form("token", "garbage"), status: 200},
		{name: "missing token", body: form("token_type_hint", "access_token"), status: 400, code: CodeInvalidRequest},
		{name: "empty token", body: form("token", ""), status: 400, code: CodeInvalidRequest},
		{name: "token twice", body: form("token", "good-token", "token", "garbage"), status: 400, code: CodeInvalidRequest},
		{name: "token in the URL", path: pathRevoke + "?token=good-token", body: form("token_type_hint", "access_token"),
			status: 400, code: CodeInvalidRequest},
		{name: "JSON body", contentType: "application/json", body: `{"token":"good-token"}`, status: 400, code: CodeInvalidRequest},
		{name: "malformed form", body: "token=%zz", status: 400, code: CodeInvalidRequest},
		{name: "body over the limit", body: form("token", strings.Repeat("x", 2048)), status: 413, code: CodeBodyTooLarge},
		{name: "token without jti", body: form("token", "no-jti-token"), status: 400, code: CodeInvalidRequest},
		{name: "token without issuer", body: form("token", "no-iss-token"), status: 400, code: CodeInvalidRequest},
		{name: "verification unavailable", body: form("token", "offline"), status: 503, code: CodeVerificationOffline},
		{name: "store unavailable", body: form("token", "good-token"), storeErr: revocation.ErrUnavailable, status: 503,
			code: CodeRevocationOffline},
		{name: "GET is not allowed", path: "GET", status: 405, code: CodeMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev := &recordingRevoker{err: tt.storeErr}
			s := newRevokeServer(t, []string{digestOf(adminKey)}, rev)
			method, path := http.MethodPost, tt.path
			if path == "GET" {
				method, path = http.MethodGet, pathRevoke
			}
			if path == "" {
				path = pathRevoke
			}
			contentType := tt.contentType
			if contentType == "" {
				contentType = formContentType
			}
			rec := send(t, s, method, path, tt.body, append([]string{"Content-Type", contentType}, auth...)...)
			checkRevocation(t, rec.Code, rec.Body.String(), tt.status, tt.code)
			checkCalls(t, rev, tt.want)
			if strings.Contains(rec.Body.String(), "good-token") {
				t.Error("the response echoes the token")
			}
		})
	}
}

func TestAdminRevocationEndpoint(t *testing.T) {
	auth := []string{"X-API-Key", adminKey}
	past := revokeNow.Add(-time.Hour)
	tests := []struct {
		name     string
		body     string
		storeErr error
		status   int
		code     string
		want     *revocation.Record
		wantType string
		message  string // substring of the answer
	}{
		{name: "jti with exp in seconds", body: `{"iss":"` + revokeIss + `","jti":"j1","exp":1800003600}`, status: 200,
			want: &revocation.Record{Issuer: revokeIss, TokenID: "j1", Expires: revokeNow.Add(time.Hour)}, wantType: "token"},
		{name: "jti with exp as RFC 3339", body: `{"iss":"` + revokeIss + `","jti":"j1","exp":"` + revokeNow.Add(time.Hour).Format(time.RFC3339) + `"}`,
			status: 200, want: &revocation.Record{Issuer: revokeIss, TokenID: "j1", Expires: revokeNow.Add(time.Hour)}, wantType: "token"},
		{name: "jti without exp", body: `{"iss":"` + revokeIss + `","jti":"j1"}`, status: 200,
			want: &revocation.Record{Issuer: revokeIss, TokenID: "j1"}, wantType: "token"},
		{name: "subject with not_before", body: fmt.Sprintf(`{"iss":%q,"sub":"mallory","not_before":%d}`, revokeIss, past.Unix()),
			status: 200, want: &revocation.Record{Issuer: revokeIss, Subject: "mallory", NotBefore: past}, wantType: "subject"},
		{name: "subject without not_before means now", body: `{"iss":"` + revokeIss + `","sub":"mallory"}`, status: 200,
			want: &revocation.Record{Issuer: revokeIss, Subject: "mallory", NotBefore: revokeNow}, wantType: "subject"},
		{name: "no iss", body: `{"jti":"j1"}`, status: 400, code: CodeInvalidRequest},
		{name: "unknown iss", body: `{"iss":"https://idp.test/","jti":"j1"}`, status: 400, code: CodeInvalidRequest},
		{name: "neither jti nor sub", body: `{"iss":"` + revokeIss + `"}`, status: 400, code: CodeInvalidRequest},
		{name: "both jti and sub", body: `{"iss":"` + revokeIss + `","jti":"j","sub":"s"}`, status: 400, code: CodeInvalidRequest},
		{name: "jti with not_before", body: `{"iss":"` + revokeIss + `","jti":"j","not_before":1}`, status: 400, code: CodeInvalidRequest},
		{name: "sub with exp", body: `{"iss":"` + revokeIss + `","sub":"s","exp":1800003600}`, status: 400, code: CodeInvalidRequest},
		{name: "not_before in the future", body: `{"iss":"` + revokeIss + `","sub":"s","not_before":1800003600}`, status: 400, code: CodeInvalidRequest},
		{name: "misspelt field", body: `{"iss":"` + revokeIss + `","sub":"s","notbefore":1}`, status: 400, code: CodeInvalidRequest,
			message: `unknown field \"notbefore\"`},
		{name: "not_before 30s ahead, within the minute of skew", body: fmt.Sprintf(`{"iss":%q,"sub":"s","not_before":%d}`, revokeIss, revokeClock+30),
			status: 200, want: &revocation.Record{Issuer: revokeIss, Subject: "s", NotBefore: revokeNow.Add(30 * time.Second)}, wantType: "subject"},
		{name: "not_before a minute ahead", body: fmt.Sprintf(`{"iss":%q,"sub":"s","not_before":%d}`, revokeIss, revokeClock+60),
			status: 200, want: &revocation.Record{Issuer: revokeIss, Subject: "s", NotBefore: revokeNow.Add(time.Minute)}, wantType: "subject"},
		{name: "not_before 61s ahead", body: fmt.Sprintf(`{"iss":%q,"sub":"s","not_before":%d}`, revokeIss, revokeClock+61),
			status: 400, code: CodeInvalidRequest, message: "future"},
		{name: "jti whose exp is past", body: fmt.Sprintf(`{"iss":%q,"jti":"j1","exp":%d}`, revokeIss, past.Unix()), status: 200,
			want: &revocation.Record{Issuer: revokeIss, TokenID: "j1", Expires: past}, wantType: "token", message: alreadyExpired},
		{name: "bad date", body: `{"iss":"` + revokeIss + `","jti":"j","exp":"tomorrow"}`, status: 400, code: CodeInvalidRequest},
		{name: "iss of the wrong type", body: `{"iss":5,"jti":"j"}`, status: 400, code: CodeInvalidRequest},
		{name: "malformed JSON", body: `{"iss":`, status: 400, code: CodeInvalidRequest},
		{name: "store unavailable", body: `{"iss":"` + revokeIss + `","jti":"j1"}`, storeErr: revocation.ErrUnavailable,
			status: 503, code: CodeRevocationOffline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev := &recordingRevoker{err: tt.storeErr}
			s := newRevokeServer(t, []string{digestOf(adminKey)}, rev)
			rec := send(t, s, http.MethodPost, pathAdminRevocations, tt.body, auth...)
			checkRevocation(t, rec.Code, rec.Body.String(), tt.status, tt.code)
			checkCalls(t, rev, tt.want)
			if !strings.Contains(rec.Body.String(), tt.message) {
				t.Errorf("answer %s lacks %s", rec.Body, tt.message)
			}
			if tt.wantType != "" {
				body := jsonBody(t, rec)
				if body["type"] != tt.wantType || body["iss"] != revokeIss {
					t.Errorf("response %s, want type %s", rec.Body, tt.wantType)
				}
			}
		})
	}
}

func TestAdminRevocationUnsupportedMedia(t *testing.T) {
	s := newRevokeServer(t, []string{digestOf(adminKey)}, &recordingRevoker{})
	rec := send(t, s, http.MethodPost, pathAdminRevocations, form("iss", revokeIss, "jti", "j"),
		"Content-Type", formContentType, "X-API-Key", adminKey)
	checkRevocation(t, rec.Code, rec.Body.String(), 415, CodeUnsupportedMedia)
}

func TestRevocationEndpointsNeedAStore(t *testing.T) {
	s := newRevokeServer(t, []string{digestOf(adminKey)}, nil)
	for _, path := range []string{pathRevoke, pathAdminRevocations} {
		rec := send(t, s, http.MethodPost, path, form("token", "good-token"), "Content-Type", formContentType, "X-API-Key", adminKey)
		checkRevocation(t, rec.Code, rec.Body.String(), 404, CodeNotFound)
	}
}

// openFileStore opens a real file revocation store in a temporary directory, closed when the
// test ends.
func openFileStore(t *testing.T) *revocation.Store {
	t.Helper()
	return openFileStoreAt(t, nil)
}

// openFileStoreAt opens a file store whose clock is now (nil: time.Now).
func openFileStoreAt(t *testing.T, now func() time.Time) *revocation.Store {
	t.Helper()
	cfg := revocation.ConfigFrom(config.Default())
	cfg.Path = filepath.Join(t.TempDir(), "revocations.db")
	store, err := revocation.Open(context.Background(), cfg, revocation.Deps{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// TestRevokeWithStore goes through a real file store: what /v1/revoke records is what Revoked
// then reports, with the leeway added to exp.
func TestRevokeWithStore(t *testing.T) {
	store := openFileStore(t)
	s := newRevokeServer(t, []string{digestOf(adminKey)}, store)
	p, _ := revokeVerifier(context.Background(), "good-token")
	p.IssuedAt = time.Now()
	if revoked, err := store.Revoked(context.Background(), p); err != nil || revoked {
		t.Fatalf("before: Revoked = %v, %v", revoked, err)
	}
	rec := send(t, s, http.MethodPost, pathRevoke, form("token", "good-token"), "Content-Type", formContentType,
		"Authorization", "Bearer "+adminKey)
	checkRevocation(t, rec.Code, rec.Body.String(), 200, "")
	if revoked, err := store.Revoked(context.Background(), p); err != nil || !revoked {
		t.Fatalf("after: Revoked = %v, %v", revoked, err)
	}
	rec = send(t, s, http.MethodPost, pathAdminRevocations, `{"iss":"`+revokeIss+`","sub":"bob"}`, "X-API-Key", adminKey)
	checkRevocation(t, rec.Code, rec.Body.String(), 200, "")
	body := jsonBody(t, rec)
	if body["not_before"] != revokeNow.Format(time.RFC3339) || body["expires_at"] == nil {
		t.Errorf("response %s", rec.Body)
	}
}

// TestAdminRevocationOfExpiredToken revokes jtis through a real store on the server's clock:
// one whose exp (plus the leeway) is past is not recorded, and the answer says so.
func TestAdminRevocationOfExpiredToken(t *testing.T) {
	store := openFileStoreAt(t, func() time.Time { return revokeNow })
	s := newRevokeServer(t, []string{digestOf(adminKey)}, store)
	tests := []struct {
		name    string
		exp     time.Time
		revoked bool
	}{
		{name: "exp an hour past", exp: revokeNow.Add(-time.Hour)},
		{name: "exp an hour ahead", exp: revokeNow.Add(time.Hour), revoked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jti := "j-" + tt.name
			rec := send(t, s, http.MethodPost, pathAdminRevocations, fmt.Sprintf(`{"iss":%q,"jti":%q,"exp":%d}`, revokeIss, jti, tt.exp.Unix()),
				"X-API-Key", adminKey)
			checkRevocation(t, rec.Code, rec.Body.String(), 200, "")
			if note, _ := jsonBody(t, rec)["note"].(string); (note == alreadyExpired) == tt.revoked {
				t.Errorf("answer %s, revoked %v", rec.Body, tt.revoked)
			}
			p := &token.Principal{Issuer: revokeIss, Subject: "alice", TokenID: jti}
			if revoked, err := store.Revoked(context.Background(), p); err != nil || revoked != tt.revoked {
				t.Errorf("Revoked = %v, %v; want %v", revoked, err, tt.revoked)
			}
		})
	}
}

// TestAdminRevocationTimeRange sends times outside token.MinTime to token.MaxTime to a real
// store: each is a 400 that names the field and the range, and the token revoked first stays
// revoked. Before the range existed, the file store took the far-future ones and wrapped them
// into the past, undoing the revocation.
func TestAdminRevocationTimeRange(t *testing.T) {
	store := openFileStore(t)
	s := newRevokeServer(t, []string{digestOf(adminKey)}, store)
	revoked := &token.Principal{Kind: "jwt", Issuer: revokeIss, Subject: "alice", TokenID: "j1", IssuedAt: time.Now()}
	rec := send(t, s, http.MethodPost, pathAdminRevocations, `{"iss":"`+revokeIss+`","jti":"j1"}`, "X-API-Key", adminKey)
	checkRevocation(t, rec.Code, rec.Body.String(), 200, "")
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{name: "exp in 9999", body: `{"iss":"` + revokeIss + `","jti":"j1","exp":"9999-12-31T23:59:59Z"}`, field: "exp"},
		{name: "exp at the int64 nanoseconds limit", body: `{"iss":"` + revokeIss + `","jti":"j1","exp":"2262-04-11T23:47:17Z"}`, field: "exp"},
		{name: "exp at MaxTime", body: `{"iss":"` + revokeIss + `","jti":"j1","exp":"` + token.MaxTime + `"}`, field: "exp"},
		{name: "exp 11000000000 seconds", body: `{"iss":"` + revokeIss + `","jti":"j1","exp":11000000000}`, field: "exp"},
		{name: "exp 1e300 seconds", body: `{"iss":"` + revokeIss + `","jti":"j1","exp":1e300}`, field: "exp"},
		{name: "negative exp", body: `{"iss":"` + revokeIss + `","jti":"j1","exp":-5}`, field: "exp"},
		{name: "not_before in 1600", body: `{"iss":"` + revokeIss + `","sub":"alice","not_before":"1600-01-01T00:00:00Z"}`, field: "not_before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := send(t, s, http.MethodPost, pathAdminRevocations, tt.body, "X-API-Key", adminKey)
			checkRevocation(t, rec.Code, rec.Body.String(), 400, CodeInvalidRequest)
			if msg := rec.Body.String(); !strings.Contains(msg, tt.field+" ") || !strings.Contains(msg, token.MinTime) ||
				!strings.Contains(msg, token.MaxTime) {
				t.Errorf("body %s does not name %s and the range", msg, tt.field)
			}
			if got, err := store.Revoked(context.Background(), revoked); err != nil || !got {
				t.Errorf("the token revoked first: Revoked = %v, %v", got, err)
			}
			other := &token.Principal{Kind: "jwt", Issuer: revokeIss, Subject: "alice", TokenID: "j2", IssuedAt: time.Now()}
			if got, err := store.Revoked(context.Background(), other); err != nil || got {
				t.Errorf("another token of the subject: Revoked = %v, %v", got, err)
			}
		})
	}
}

// TestRevokeWithoutIssuerWithStore: the real store refuses an empty issuer; the endpoint says
// why before asking it, and a store refusal would be a 400 too, never a 500.
func TestRevokeWithoutIssuerWithStore(t *testing.T) {
	store := openFileStore(t)
	s := newRevokeServer(t, []string{digestOf(adminKey)}, store)
	rec := send(t, s, http.MethodPost, pathRevoke, form("token", "no-iss-token"), "Content-Type", formContentType,
		"X-API-Key", adminKey)
	checkRevocation(t, rec.Code, rec.Body.String(), 400, CodeInvalidRequest)
	if !strings.Contains(rec.Body.String(), "no issuer") {
		t.Errorf("body %s does not say the token has no issuer", rec.Body)
	}
	if _, err := store.RevokeToken(context.Background(), "", "jti-2", time.Time{}); classify(err).status != 400 {
		t.Errorf("a store refusal (%v) is classified %+v, want a 400", err, classify(err))
	}
}

func checkRevocation(t *testing.T, status int, body string, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", status, wantStatus, body)
	}
	if wantCode != "" && !strings.Contains(body, `"code":"`+wantCode+`"`) {
		t.Errorf("body %s lacks code %s", body, wantCode)
	}
}

func checkCalls(t *testing.T, rev *recordingRevoker, want *revocation.Record) {
	t.Helper()
	switch {
	case want == nil && len(rev.calls) != 0:
		t.Errorf("revoked %+v, want nothing", rev.calls)
	case want != nil && (len(rev.calls) != 1 || !sameRecord(rev.calls[0], *want)):
		t.Errorf("revoked %+v, want %+v", rev.calls, *want)
	}
}

func sameRecord(a, b revocation.Record) bool {
	return a.Issuer == b.Issuer && a.TokenID == b.TokenID && a.Subject == b.Subject &&
		a.NotBefore.Equal(b.NotBefore) && a.Expires.Equal(b.Expires)
}
