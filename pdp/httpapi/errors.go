package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/golang-jwt/jwt/v5"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/forwardauth"
	"github.com/verdict-pdp/verdict/pdp/request"
	"github.com/verdict-pdp/verdict/pdp/revocation"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// Stable error codes. Clients may switch on them; the messages are for people.
const (
	CodeInvalidRequest      = "invalid_request"
	CodeInvalidToken        = "invalid_token"
	CodeUnauthorized        = "unauthorized"
	CodeBodyTooLarge        = "body_too_large"
	CodeResponseTooLarge    = "response_too_large"
	CodeUnsupportedMedia    = "unsupported_media_type"
	CodeNotFound            = "not_found"
	CodeMethodNotAllowed    = "method_not_allowed"
	CodePolicyUnavailable   = "policy_unavailable"
	CodeEvaluationFailed    = "evaluation_failed"
	CodeVerificationOffline = "verification_unavailable"
	CodeInternal            = "internal_error"
	CodeInsufficientScope   = "insufficient_scope"
	CodeAccessDenied        = "access_denied"
	CodeStepUpRequired      = "insufficient_user_authentication"
	CodeRevocationOffline   = "revocation_unavailable"
	CodeRequestCancelled    = "request_cancelled"
	CodeShuttingDown        = "shutting_down"
	CodeRateLimited         = "rate_limited"
)

// Request errors raised by decoding and validation.
var (
	errBodyTooLarge   = errors.New("request body too large")
	errUnsupportedCT  = errors.New("content type must be application/json")
	errNotFound       = errors.New("no such endpoint")
	errMethodNotAllow = errors.New("method not allowed")
	errShuttingDown   = errors.New("shutting down")
)

// badRequest is a problem with what the caller sent (a *request.Error): always a 400 with its
// message shown.
func badRequest(msg string) error { return request.Invalid(msg) }

// apiError is how one error is shown to the caller.
type apiError struct {
	status  int
	code    string
	message string
	// challenge is the WWW-Authenticate value, when the status asks for one.
	challenge string
	// retryAfter is the Retry-After value in seconds, when the caller should come back later.
	retryAfter string
}

// classify maps an error to its status, code, message and challenge. It is the only place
// that decides what a caller learns about a failure: never a token, never a raw evaluation
// error.
func classify(err error) apiError {
	var reqErr *request.Error
	var scopeErr *scopeError
	var stepUp *forwardauth.StepUpError
	var tooLarge *responseTooLargeError
	var keyErr *apiKeyError
	var limited *rateLimitedError
	switch {
	case errors.As(err, &limited):
		return apiError{status: http.StatusTooManyRequests, code: CodeRateLimited,
			message: "too many requests from this client; retry after the seconds in Retry-After", retryAfter: limited.seconds()}
	case errors.Is(err, errNoClientCert):
		// TLS client authentication has no HTTP scheme to name in WWW-Authenticate.
		return apiError{status: http.StatusUnauthorized, code: CodeUnauthorized, message: err.Error()}
	case errors.Is(err, errClientCertRefused):
		return apiError{status: http.StatusForbidden, code: CodeAccessDenied, message: err.Error()}
	case errors.As(err, &reqErr):
		return apiError{status: http.StatusBadRequest, code: CodeInvalidRequest, message: reqErr.Error()}
	case errors.As(err, &scopeErr):
		return apiError{status: http.StatusForbidden, code: CodeInsufficientScope, message: "the token lacks the required scope",
			challenge: scopeErr.challenge()}
	case errors.As(err, &stepUp):
		return apiError{status: http.StatusUnauthorized, code: CodeStepUpRequired, message: "step-up authentication is required",
			challenge: stepUp.Challenge()}
	case errors.Is(err, forwardauth.ErrNoRoute):
		return apiError{status: http.StatusForbidden, code: CodeAccessDenied, message: "access denied: no route rule matches the request"}
	case errors.Is(err, forwardauth.ErrPolicyDenied):
		return apiError{status: http.StatusForbidden, code: CodeAccessDenied, message: "access denied by the policy"}
	case errors.Is(err, forwardauth.ErrAccessDenied):
		return apiError{status: http.StatusForbidden, code: CodeAccessDenied,
			message: "access denied: the original request is missing, ambiguous or has a path Verdict refuses"}
	case errors.Is(err, engine.ErrInvalidPath):
		return apiError{status: http.StatusBadRequest, code: CodeInvalidRequest, message: "invalid document path"}
	case errors.Is(err, engine.ErrInvalidInput):
		// The engine wraps it with ErrEvaluation too, so it must come before that case. The
		// detail (OPA's text, the value) stays in the log.
		return apiError{status: http.StatusBadRequest, code: CodeInvalidRequest,
			message: "a value in the request cannot be used as policy input, such as a number out of range"}
	case errors.Is(err, errBodyTooLarge):
		return apiError{status: http.StatusRequestEntityTooLarge, code: CodeBodyTooLarge, message: err.Error()}
	case errors.As(err, &tooLarge):
		return apiError{status: http.StatusRequestEntityTooLarge, code: CodeResponseTooLarge, message: tooLarge.Error()}
	case errors.Is(err, errUnsupportedCT):
		return apiError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMedia, message: err.Error()}
	case errors.Is(err, errNotFound):
		return apiError{status: http.StatusNotFound, code: CodeNotFound, message: err.Error()}
	case errors.Is(err, errMethodNotAllow):
		return apiError{status: http.StatusMethodNotAllowed, code: CodeMethodNotAllowed, message: err.Error()}
	case errors.As(err, &keyErr) && errors.Is(err, token.ErrNoCredentials):
		return apiError{status: http.StatusUnauthorized, code: CodeUnauthorized,
			message:   "an " + keyErr.name + " is required, as Authorization: Bearer <key> or X-API-Key: <key>",
			challenge: `Bearer realm="verdict"`}
	case errors.As(err, &keyErr) && errors.Is(err, token.ErrInvalidToken):
		why := "the " + keyErr.name + " is not accepted"
		return apiError{status: http.StatusUnauthorized, code: CodeInvalidToken, message: why,
			challenge: invalidTokenChallenge(why)}
	case errors.Is(err, token.ErrNoCredentials):
		return apiError{status: http.StatusUnauthorized, code: CodeUnauthorized, message: "a bearer token is required",
			challenge: `Bearer realm="verdict"`}
	case errors.Is(err, token.ErrInvalidRequest):
		return apiError{status: http.StatusBadRequest, code: CodeInvalidRequest, message: "malformed credentials",
			challenge: `Bearer realm="verdict", error="invalid_request"`}
	case errors.Is(err, token.ErrInvalidToken):
		why := refusalReason(err)
		return apiError{status: http.StatusUnauthorized, code: CodeInvalidToken, message: why,
			challenge: invalidTokenChallenge(why)}
	case errors.Is(err, context.Canceled):
		// The client went away (or the server is shutting the request down) before an answer:
		// no fault of the policy, and nobody reads this answer. Checked before the engine's
		// ErrEvaluation, which the engine wraps it with.
		return apiError{status: http.StatusServiceUnavailable, code: CodeRequestCancelled, message: "the request was cancelled before an answer"}
	case errors.Is(err, token.ErrUnavailable):
		return apiError{status: http.StatusServiceUnavailable, code: CodeVerificationOffline, message: "the access token cannot be verified right now"}
	case errors.Is(err, errAdminDisabled), errors.Is(err, errExplainForbidden):
		return apiError{status: http.StatusForbidden, code: CodeAccessDenied, message: err.Error()}
	case errors.Is(err, revocation.ErrInvalid):
		// The store's text names the missing field or the time out of range; it holds no token.
		return apiError{status: http.StatusBadRequest, code: CodeInvalidRequest, message: err.Error()}
	case errors.Is(err, revocation.ErrUnavailable):
		return apiError{status: http.StatusServiceUnavailable, code: CodeRevocationOffline, message: "the revocation store is unavailable"}
	case errors.Is(err, errShuttingDown):
		return apiError{status: http.StatusServiceUnavailable, code: CodeShuttingDown, message: "the server is shutting down"}
	case errors.Is(err, engine.ErrNoPolicy):
		return apiError{status: http.StatusServiceUnavailable, code: CodePolicyUnavailable, message: "no policy is active"}
	case errors.Is(err, engine.ErrEvaluation), errors.Is(err, engine.ErrTimeout):
		return apiError{status: http.StatusInternalServerError, code: CodeEvaluationFailed, message: "the policy could not be evaluated"}
	default:
		return apiError{status: http.StatusInternalServerError, code: CodeInternal, message: "internal error"}
	}
}

// invalidTokenChallenge is the RFC 6750 challenge of a refused credential, saying why.
func invalidTokenChallenge(why string) string {
	return `Bearer realm="verdict", error="invalid_token", error_description=` + token.QuoteParam(why)
}

// tokenRefusals says why a token was refused, one fixed sentence per reason, first match
// wins: the sentence names the class of fault, never a claim value, a key id or key material.
// Read-only.
var tokenRefusals = []struct {
	reason error
	why    string
}{
	{token.ErrRevoked, "the token has been revoked"},
	{jwt.ErrTokenExpired, "the token expired"},
	{jwt.ErrTokenNotValidYet, "the token is not valid yet"},
	{jwt.ErrTokenUsedBeforeIssued, "the token's issue time is in the future"},
	{jwt.ErrTokenInvalidAudience, "the token's audience is not accepted here"},
	{token.ErrUnknownIssuer, "the token's issuer is not accepted here"},
	{jwt.ErrTokenInvalidIssuer, "the token's issuer is not accepted here"},
	{token.ErrUnknownKey, "the token is signed with a key its issuer does not publish"},
	{token.ErrKeyAlgorithm, "the token's signing algorithm is not accepted for its key"},
	{token.ErrType, "the token's type (typ header) is not accepted"},
	{token.ErrHeader, "the token's header carries a parameter that is not accepted"},
	{token.ErrLifetime, "the token's lifetime is longer than its issuer allows"},
	{token.ErrClaim, "a claim the token needs is missing or has the wrong type"},
	{jwt.ErrTokenRequiredClaimMissing, "a claim the token needs is missing or has the wrong type"},
	{token.ErrTokenTooLarge, "the token is too large"},
	{token.ErrMalformed, "the token is malformed"},
	{jwt.ErrTokenMalformed, "the token is malformed"},
	{jwt.ErrTokenSignatureInvalid, "the token's signature is invalid"},
	{token.ErrInactive, "the token is not active"},
}

// refusalReason is the sentence tokenRefusals gives err, a refused token.
func refusalReason(err error) string {
	for _, r := range tokenRefusals {
		if errors.Is(err, r.reason) {
			return r.why
		}
	}
	return "the access token is invalid"
}

type errorBody struct {
	Error     errorDetail `json:"error"`
	RequestID string      `json:"request_id"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError is the one error writer: it logs the detail and sends the short form.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := classify(err)
	rid := requestID(r.Context())
	level := s.log.Info
	if e.status >= 500 && e.code != CodeRequestCancelled {
		level = s.log.Error
	}
	level("request failed", "request_id", rid, "path", r.URL.Path, "status", e.status, "code", e.code, "error", err)
	if e.challenge != "" {
		w.Header().Set("WWW-Authenticate", e.challenge)
	}
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	if isDataAPI(r) {
		writeJSON(w, e.status, opaErrorBody(e))
		return
	}
	writeJSON(w, e.status, errorBody{Error: errorDetail{Code: e.code, Message: e.message}, RequestID: rid})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	writeBody(w, status, b)
}

// writeBody writes body, a JSON document already encoded, as writeJSON would write it.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
