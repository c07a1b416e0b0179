package token

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// MinTime and MaxTime bound every instant Verdict takes in: a token's exp, iat and nbf (JWT
// claims and introspection answers alike) and a revocation's exp and not_before must be at or
// after MinTime and before MaxTime. The range fits both revocation stores with room to spare
// (bbolt keeps Unix nanoseconds in an int64, which end in April 2262; Redis keeps milliseconds
// and TTLs) and holds every real token, so an instant outside it is refused, never wrapped
// around or cut short.
const (
	MinTime = "1970-01-01T00:00:00Z"
	MaxTime = "2200-01-01T00:00:00Z"
	// maxUnix is MaxTime in Unix seconds; MinTime is 0.
	maxUnix = 7258118400
)

// ErrTimeRange means an instant lies outside MinTime to MaxTime.
var ErrTimeRange = errors.New("time out of range")

// CheckTime returns an error wrapping ErrTimeRange, naming field and the range, when t is
// outside it. It reads t as Unix seconds, which stay exact for any time.Time, even one whose
// nanoseconds would overflow.
func CheckTime(field string, t time.Time) error {
	if s := t.Unix(); s < 0 || s >= maxUnix {
		return fmt.Errorf("%w: %s %s must be at or after %s and before %s",
			ErrTimeRange, field, t.UTC().Format(time.RFC3339), MinTime, MaxTime)
	}
	return nil
}

// LatestTime is MaxTime as a time.Time: no token Verdict accepts expires later.
func LatestTime() time.Time { return time.Unix(maxUnix, 0).UTC() }

// TimeOfSeconds returns the instant secs seconds after the epoch, as a JSON NumericDate gives
// it. Values beyond any sensible range saturate rather than overflow, so that CheckTime refuses
// them instead of seeing a wrapped-around date.
func TimeOfSeconds(secs float64) time.Time {
	const limit = 1 << 40 // about 35,000 years either way
	whole, frac := math.Modf(max(min(secs, limit), -limit))
	return time.Unix(int64(whole), int64(frac*1e9)).UTC()
}
