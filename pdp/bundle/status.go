package bundle

import "time"

// Where the serving revision came from: Status.Origin and the origin label of
// verdict_bundle_revision_info.
const (
	// OriginSource is the configured policy.bundle.
	OriginSource = "source"
	// OriginPersisted is the copy of the last good bundle kept under the data directory,
	// served because the source was unavailable or refused at start.
	OriginPersisted = "persisted"
	// OriginBuiltin is the bundle embedded in the binary, served when nothing is configured.
	OriginBuiltin = "built-in"
)

// What kind of source policy.bundle names: Status.Kind.
const (
	// KindDirectory is a directory of policy and data files.
	KindDirectory = "directory"
	// KindArchive is a .tar.gz bundle file.
	KindArchive = "archive"
	// KindURL is an http(s) bundle server.
	KindURL = "url"
	// KindBuiltin is the bundle embedded in the binary.
	KindBuiltin = "built-in"
)

// Status describes the bundle manager: what serves and what the last poll did. It is what
// GET /v1/status reports under "policy".
type Status struct {
	// Source is the configured bundle (a URL without credentials or query, a path) or
	// "built-in".
	Source string `json:"source"`
	// Kind is KindDirectory, KindArchive, KindURL or KindBuiltin.
	Kind string `json:"kind"`
	// Watching is true when file notifications, not polls, bring changes in (policy.watch).
	Watching bool `json:"watching"`
	// Revision is the serving revision; empty before the first activation.
	Revision string `json:"revision,omitempty"`
	// Origin is OriginSource, OriginPersisted or OriginBuiltin.
	Origin      string     `json:"origin,omitempty"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
	// ETag is the source's ETag of the serving revision, when it came over http(s).
	ETag string `json:"etag,omitempty"`
	// Verification is true when signatures are required.
	Verification bool `json:"verification"`
	// LongPolling is true while the bundle server holds requests until a change.
	LongPolling bool `json:"long_polling"`
	// LastAttempt is the last poll that did something: activated, refused a bundle or failed.
	// A later poll that found nothing new replaces a failure (the source is back) but not a
	// refusal (the source still offers the refused bundle).
	LastAttempt *Attempt `json:"last_attempt,omitempty"`
	// LastFailure is the last poll that refused a bundle or failed, kept after later successes.
	LastFailure *Attempt `json:"last_failure,omitempty"`
	// LastPoll is when the source was last polled, whatever the result.
	LastPoll *time.Time `json:"last_poll,omitempty"`
	// NextPoll is when the next poll starts; for a long poll, that is when the request goes
	// out, not when it returns. A watched source has none: it is read after each change.
	NextPoll *time.Time `json:"next_poll,omitempty"`
	// Activations and Failures count since start.
	Activations uint64 `json:"activations"`
	Failures    uint64 `json:"failures"`
}

// Describe names the source for people: its kind and where it is ("directory ./policies",
// "url https://bundles.example.com/verdict.tar.gz"), or "built-in", with ", watched" when
// file notifications bring changes in.
func (s Status) Describe() string {
	d := s.Kind
	if s.Kind != KindBuiltin {
		d += " " + s.Source
	}
	if s.Watching {
		d += ", watched"
	}
	return d
}

// Attempt is the outcome of one poll.
type Attempt struct {
	At time.Time `json:"at"`
	// Result is ResultActivated, ResultUnchanged, ResultRejected or ResultError.
	Result string `json:"result"`
	// Revision is the revision of the bundle activated or refused, when it got that far.
	Revision string `json:"revision,omitempty"`
	// Reason is one of the Reason constants when the poll failed or refused a bundle.
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
	// DurationMS is how long the poll took, from the request to the serving snapshot, in
	// milliseconds.
	DurationMS float64 `json:"duration_ms"`
}
