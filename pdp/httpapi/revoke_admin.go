package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
)

// errAdminDisabled means no admin API key is configured, so the admin endpoints refuse every
// request (403).
var errAdminDisabled = errors.New("the admin API is disabled: admin.api_keys_sha256 is empty")

// adminAuth guards the admin endpoints with the keys of admin.api_keys_sha256. A key is sent as
// "Authorization: Bearer <key>" or "X-API-Key: <key>" and checked as PEP API keys are: its
// SHA-256 compared in constant time with every configured digest. With no digest configured the
// endpoints are disabled (403), never open.
type adminAuth struct {
	keys *pepAuth
}

func newAdminAuth(s *Server) *adminAuth {
	return &adminAuth{keys: &pepAuth{s: s, mode: pepAuthAPIKey, keys: parseDigests(s.cfg.Admin.APIKeysSHA256),
		keyName: "admin API key"}}
}

// parseDigests decodes hex SHA-256 digests, skipping any that are not (config validation has
// already refused them).
func parseDigests(hexDigests []string) [][]byte {
	var out [][]byte
	for _, d := range hexDigests {
		if b, err := hex.DecodeString(strings.ToLower(d)); err == nil && len(b) == sha256.Size {
			out = append(out, b)
		}
	}
	return out
}

// check authenticates r: 403 when the admin API is disabled, 401 with a Bearer challenge when
// the key is missing or unknown.
func (a *adminAuth) check(r *http.Request) error {
	if len(a.keys.keys) == 0 {
		return errAdminDisabled
	}
	return a.keys.checkAPIKey(r)
}

// wrap serves next only to authenticated admins.
func (a *adminAuth) wrap(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := a.check(r); err != nil {
			a.keys.s.writeError(w, r, err)
			return
		}
		next(w, r)
	}
}
