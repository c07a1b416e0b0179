package token

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"testing"
	"time"
)

// TestJWKSCertificateMembers loads keys shaped like Entra ID's and Keycloak's, which carry the
// key's certificate (x5c, x5t) and members of their own (issuer): the key is used. A certificate
// that holds another key than the JWK's is refused.
func TestJWKSCertificateMembers(t *testing.T) {
	f := newFixture(t)
	cert := func(key *rsa.PrivateKey) map[string]any {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "accounts.accesscontrol.windows.net"},
			NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha1.Sum(der)
		return map[string]any{"kid": "entra", "use": "sig", "x5t": base64.RawURLEncoding.EncodeToString(sum[:]),
			"x5c": []string{base64.StdEncoding.EncodeToString(der)}, "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"}
	}
	for _, tc := range []struct {
		name    string
		members map[string]any
		usable  bool
	}{
		{name: "certificate of the key", members: cert(f.rsa), usable: true},
		{name: "certificate of another key", members: cert(f.rsaOther)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := jwkJSON(t, &f.rsa.PublicKey, false, tc.members)
			parsed, err := parseJWKS([]byte(fmt.Sprintf(`{"keys":[%s]}`, mustJSON(t, m))), []string{"RS256"})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(parsed.keys) == 1; got != tc.usable {
				t.Fatalf("usable = %v, want %v (refused: %v)", got, tc.usable, parsed.refused)
			}
		})
	}
}
