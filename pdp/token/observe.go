package token

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/verdict-pdp/verdict/pdp/tracing"
)

// unknownIssuer is the issuer label of a verification whose issuer is not configured, or
// cannot be read: a caller choosing iss cannot add series.
const unknownIssuer = "unknown"

// verifications counts Verify's outcomes by issuer and result: ok, or the class of the refusal
// (the check Refusal names: exp, aud, signature, revoked, unavailable, ...).
type verifications struct {
	total *prometheus.CounterVec
	// ok holds each known issuer's ok counter, so a successful verification, the common case,
	// costs no label lookup. Read-only after New.
	ok map[string]prometheus.Counter
}

func newVerifications(reg prometheus.Registerer, issuers []string) (verifications, error) {
	c := verifications{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_token_verifications_total",
			Help: "Token verifications by issuer (configured ones, else unknown) and result: ok or the refusal class.",
		}, []string{"issuer", "result"}),
		ok: make(map[string]prometheus.Counter, len(issuers)),
	}
	for _, iss := range issuers {
		c.ok[iss] = c.total.WithLabelValues(iss, "ok")
	}
	if reg != nil {
		if err := reg.Register(c.total); err != nil {
			return verifications{}, err
		}
	}
	return c, nil
}

// knownIssuers are the issuers a label may name: the configured JWT issuers and the
// introspection issuer.
func (v *Verifier) knownIssuers() []string {
	known := append([]string(nil), v.order...)
	if v.introspection != nil && v.introspection.issuer != "" {
		known = append(known, v.introspection.issuer)
	}
	return known
}

// observe counts one verification and ends its span, which it describes by cache hit,
// issuer, kind and result: never the token or a claim value other than a configured issuer.
func (v *Verifier) observe(span trace.Span, raw string, p *Principal, hit bool, err error) {
	defer span.End()
	if ok, known := v.verifications.ok[v.issuerOf(p)]; known && err == nil && !span.IsRecording() {
		ok.Inc() // the common case, without building labels
		return
	}
	iss, result := v.issuerLabel(raw, p), "ok"
	if err != nil {
		result = checkOf(err)
	}
	v.verifications.total.WithLabelValues(iss, result).Inc()
	if !span.IsRecording() {
		return
	}
	kind := "opaque"
	if isCompactJWS(raw) {
		kind = "jwt"
	}
	span.SetAttributes(attribute.Bool("verdict.token.cache_hit", hit), attribute.String("verdict.token.issuer", iss),
		attribute.String("verdict.token.kind", kind), attribute.String("verdict.token.result", result))
	if err != nil {
		tracing.Fail(span, result)
	}
}

// issuerOf is p's issuer, "" for no principal.
func (v *Verifier) issuerOf(p *Principal) string {
	if p == nil {
		return ""
	}
	return p.Issuer
}

// issuerLabel is the issuer of a verification as a label: the verified issuer, or for a
// refused token its unverified iss, when it is a known issuer; unknownIssuer otherwise.
func (v *Verifier) issuerLabel(raw string, p *Principal) string {
	iss := ""
	switch {
	case p != nil:
		iss = p.Issuer
	case isCompactJWS(raw):
		if u, err := peek(raw); err == nil {
			iss = u.iss
		}
	case v.introspection != nil:
		iss = v.introspection.issuer
	}
	if _, known := v.verifications.ok[iss]; !known || iss == "" {
		return unknownIssuer
	}
	return iss
}
