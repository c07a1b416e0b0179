package token

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestCheckTime(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{name: "MinTime", at: time.Unix(0, 0), ok: true},
		{name: "a nanosecond before MinTime", at: time.Unix(0, -1)},
		{name: "the last nanosecond before MaxTime", at: LatestTime().Add(-time.Nanosecond), ok: true},
		{name: "MaxTime", at: LatestTime()},
		{name: "2262-04-11T23:47:17Z, past int64 nanoseconds", at: time.Date(2262, 4, 11, 23, 47, 17, 0, time.UTC)},
		{name: "1600", at: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)},
		{name: "the zero time", at: time.Time{}},
		{name: "saturated far future", at: TimeOfSeconds(math.MaxFloat64)},
		{name: "saturated far past", at: TimeOfSeconds(-math.MaxFloat64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTime("exp", tt.at)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrTimeRange)) {
				t.Errorf("CheckTime(%v) = %v, want ok %v", tt.at, err, tt.ok)
			}
		})
	}
	if LatestTime().Format(time.RFC3339) != MaxTime || time.Unix(0, 0).UTC().Format(time.RFC3339) != MinTime {
		t.Errorf("MinTime %s and MaxTime %s disagree with the Unix seconds checked", MinTime, MaxTime)
	}
}
