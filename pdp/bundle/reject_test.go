package bundle_test

import (
	"crypto/rand"
	"encoding/base64"
	"maps"
	"net/http"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
)

// TestManagerRefusesBadBundles serves a good revision, then a bad one: every refusal leaves
// the good revision answering, is counted once by reason, shows in the status, and is not
// downloaded again while the server keeps offering it.
func TestManagerRefusesBadBundles(t *testing.T) {
	signer := newKeyPair(t, "ES256")
	other := newKeyPair(t, "ES256")
	verifier, err := bundle.NewVerifier(map[string][]byte{bundle.DefaultKeyID: signer.pub}, bundle.DefaultKeyID, "")
	if err != nil {
		t.Fatal(err)
	}
	sign := &bundle.SignOptions{Key: signer.priv}
	with := func(rev string, extra map[string]string) map[string]string {
		files := policyFiles(rev)
		maps.Copy(files, extra)
		return files
	}
	big := make([]byte, 48<<10)
	_, _ = rand.Read(big)

	tests := []struct {
		name string
		// bad returns the archive to refuse.
		bad          func(t *testing.T) []byte
		signed       bool // sign the good revision and verify signatures
		requireTests bool
		maxBytes     int64
		wantReason   string
		// retried reasons (damaged archives) are downloaded again, since the damage may be the
		// network's; the rest are not.
		retried bool
	}{
		{
			name: "rego parse error",
			bad: func(t *testing.T) []byte {
				return rawTarGz(t, "/.manifest", `{"roots":["verdict"]}`, "/authz.rego", "package verdict.authz\n\ndecision := {")
			},
			wantReason: bundle.ReasonInvalid,
		},
		{
			name: "compile error",
			bad: func(t *testing.T) []byte {
				return buildArchiveUnchecked(t, "r2", "/authz.rego", "package verdict.authz\n\ndecision := {\"allow\": no_such_function(1)}\n")
			},
			wantReason: bundle.ReasonActivation,
		},
		{
			name: "entrypoint not defined",
			bad: func(t *testing.T) []byte {
				return buildArchive(t, "r2", map[string]string{".manifest": `{"roots": ["verdict"]}`, "authz.rego": "package verdict.authz\n\nother := true\n"}, nil)
			},
			wantReason: bundle.ReasonActivation,
		},
		{
			name: "package outside the manifest roots",
			bad: func(t *testing.T) []byte {
				return rawTarGz(t, "/.manifest", `{"roots":["verdict"]}`, "/authz.rego", "package elsewhere.authz\n\ndecision := true\n")
			},
			wantReason: bundle.ReasonInvalid,
		},
		{
			name: "data outside the manifest roots",
			bad: func(t *testing.T) []byte {
				return rawTarGz(t, "/.manifest", `{"roots":["verdict"]}`, "/authz.rego", "package verdict.authz\n\ndecision := true\n",
					"/elsewhere/data.json", `{"x": 1}`)
			},
			wantReason: bundle.ReasonInvalid,
		},
		{
			name:       "entry escaping with ..",
			bad:        func(t *testing.T) []byte { return rawTarGz(t, "/../../etc/cron.d/x.rego", "package verdict.authz\n") },
			wantReason: bundle.ReasonUnsafePath,
		},
		{
			name:       "absolute entry with a drive letter",
			bad:        func(t *testing.T) []byte { return rawTarGz(t, "C:/Windows/x.rego", "package verdict.authz\n") },
			wantReason: bundle.ReasonUnsafePath,
		},
		{
			name:       "absolute network path entry",
			bad:        func(t *testing.T) []byte { return rawTarGz(t, "//server/share/x.rego", "package verdict.authz\n") },
			wantReason: bundle.ReasonUnsafePath,
		},
		{
			name: "over the size limit",
			bad: func(t *testing.T) []byte {
				return buildArchive(t, "r2", with("r2", map[string]string{"verdict/pad/data.json": `{"pad": "` + base64.StdEncoding.EncodeToString(big) + `"}`}), nil)
			},
			maxBytes:   32 << 10,
			wantReason: bundle.ReasonTooLarge,
		},
		{
			name: "truncated archive",
			bad: func(t *testing.T) []byte {
				raw := policyArchive(t, "r2")
				return raw[:len(raw)-10]
			},
			wantReason: bundle.ReasonCorrupt,
			retried:    true,
		},
		{
			name:       "not gzip",
			bad:        func(t *testing.T) []byte { return []byte("<html>502 Bad Gateway</html>") },
			wantReason: bundle.ReasonCorrupt,
			retried:    true,
		},
		{
			name:       "unsigned",
			bad:        func(t *testing.T) []byte { return policyArchive(t, "r2") },
			signed:     true,
			wantReason: bundle.ReasonUnsigned,
		},
		{
			name: "signed by an unknown key",
			bad: func(t *testing.T) []byte {
				return buildArchive(t, "r2", policyFiles("r2"), &bundle.SignOptions{Key: other.priv, KeyID: "other"})
			},
			signed:     true,
			wantReason: bundle.ReasonUnknownKey,
		},
		{
			name: "signed by another key under the known id",
			bad: func(t *testing.T) []byte {
				return buildArchive(t, "r2", policyFiles("r2"), &bundle.SignOptions{Key: other.priv})
			},
			signed:     true,
			wantReason: bundle.ReasonBadSignature,
		},
		{
			name: "file changed after signing",
			bad: func(t *testing.T) []byte {
				raw := buildArchive(t, "r2", policyFiles("r2"), sign)
				return tamper(t, raw, "authz.rego", "package verdict.authz\n\ndecision := {\"allow\": true, \"reasons\": [\"r2\"]}\n# changed\n")
			},
			signed:     true,
			wantReason: bundle.ReasonBadSignature,
		},
		{
			name: "failing tests with require_tests",
			bad: func(t *testing.T) []byte {
				return buildArchive(t, "r2", with("r2", map[string]string{"authz_test.rego": "package verdict.authz_test\n\nimport data.verdict.authz\n\ntest_denies if not authz.decision.allow\n"}), nil)
			},
			requireTests: true,
			wantReason:   bundle.ReasonTests,
		},
		{
			name: "no tests with require_tests",
			bad: func(t *testing.T) []byte {
				files := policyFiles("r2")
				delete(files, "authz_test.rego")
				return buildArchive(t, "r2", files, nil)
			},
			requireTests: true,
			wantReason:   bundle.ReasonTests,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := policyArchive(t, "r1")
			opts := managerOpts{policy: func(p *config.Policy) {
				p.RequireTests = tt.requireTests
				p.MaxBundleBytes = tt.maxBytes
			}}
			if tt.signed {
				good = buildArchive(t, "r1", policyFiles("r1"), sign)
				opts.verifier = verifier
			}
			srv := newBundleServer(t, good)
			h := start(t, srv.URL, opts)
			if got := h.answer(t); got != "r1" {
				t.Fatalf("first revision = %q", got)
			}

			srv.set(tt.bad(t))
			st := h.waitFailures(t, 1)
			if st.LastAttempt.Result != bundle.ResultRejected || st.LastAttempt.Reason != tt.wantReason {
				t.Fatalf("last attempt = %+v, want rejected for %s", st.LastAttempt, tt.wantReason)
			}
			if st.LastFailure == nil || st.LastFailure.Error == "" || st.Revision != "r1" {
				t.Errorf("status = %+v", st)
			}
			if got := h.answer(t); got != "r1" {
				t.Fatalf("answer after the refusal = %q, want r1", got)
			}

			// Later polls neither count the refusal again nor (unless it may be transport
			// damage) download it again.
			downloads := srv.count(http.StatusOK)
			h.waitPolls(t, 3)
			if got := h.metric(t, "verdict_bundle_activation_failures_total", map[string]string{"reason": tt.wantReason}); got != 1 {
				t.Errorf("failures{reason=%s} = %v, want 1", tt.wantReason, got)
			}
			if got := srv.count(http.StatusOK); !tt.retried && got != downloads {
				t.Errorf("downloads went from %d to %d: the refused bundle was fetched again", downloads, got)
			}
			if st := h.m.Status(); st.LastAttempt.Result != bundle.ResultRejected || st.Failures != 1 {
				t.Errorf("status after more polls = %+v", st)
			}
			if got := h.answer(t); got != "r1" {
				t.Fatalf("answer after more polls = %q, want r1", got)
			}

			// A good revision after the bad one activates.
			srv.set(policyArchive(t, "r3"))
			if tt.signed {
				srv.set(buildArchive(t, "r3", policyFiles("r3"), sign))
			}
			h.waitRevision(t, "r3")
		})
	}
}

// buildArchiveUnchecked writes an archive with a manifest naming rev and one module by hand.
func buildArchiveUnchecked(t *testing.T, rev, name, body string) []byte {
	t.Helper()
	return rawTarGz(t, "/.manifest", `{"roots":["verdict"],"revision":"`+rev+`"}`, name, body)
}
