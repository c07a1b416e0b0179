package replay

import (
	"bytes"
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/engine"
)

// benchLog is n decision-log events of the built-in policy's kinds: editors, viewers and admins
// of two tenants reading, updating, deleting and sharing documents and projects, with and
// without MFA, as the server logs them.
func benchLog(n int) []byte {
	roles := []string{"editor", "viewer", "admin", "auditor"}
	actions := []string{"read", "update", "delete", "share"}
	types := []string{"document", "project"}
	var b bytes.Buffer
	for i := range n {
		amr := `["pwd","otp"]`
		if i%3 == 0 {
			amr = `["pwd"]`
		}
		fmt.Fprintf(&b, `{"decision_id":"d%d","path":"/v1/authorize","revision":"sha256:x",`+
			`"input":{"subject":{"type":"user","id":"u%d","properties":{"roles":[%q],"tenant":"acme","amr":%s,"auth_time":1795341540,"client_id":"web"}},`+
			`"action":{"name":%q},"resource":{"type":%q,"id":"r%d","properties":{"tenant":%q,"owner":"u%d","classification":"internal"}},`+
			`"context":{"time":"2026-11-22T10:00:00Z","ip":"203.0.113.7","new_device":%v}},`+
			`"result":{"allow":%v,"reasons":[]},"timestamp":"2026-11-22T10:00:00.2Z"}`+"\n",
			i, i%50, roles[i%len(roles)], amr, actions[i%len(actions)], types[i%len(types)], i,
			[]string{"acme", "globex"}[i%7/6], i%40, i%5 == 0, i%2 == 0)
	}
	return b.Bytes()
}

// BenchmarkReplay replays decision-log events against the built-in policy with GOMAXPROCS
// workers. decisions/s is wall-clock throughput, which on a shared machine says more about
// the other tenants than about replay; decisions/cpu-s divides by the CPU time the process
// used, which is the throughput of one core that replay has to itself.
func BenchmarkReplay(b *testing.B) {
	snap := builtinSnapshot(b)
	log := benchLog(b.N)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	r, err := Run(context.Background(), Config{Candidate: snap}, bytes.NewReader(log))
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu := cpuTime(b) - cpu0
	if r.Compared != b.N || r.Problems != 0 {
		b.Fatalf("compared %d of %d, %d problems: %+v", r.Compared, b.N, r.Problems, r.Details)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "decisions/cpu-s")
}

// builtinSnapshot is the built-in policy, activated.
func builtinSnapshot(tb testing.TB) *engine.Snapshot {
	tb.Helper()
	bndl, err := bundle.Builtin()
	if err != nil {
		tb.Fatal(err)
	}
	eng, err := engine.New(config.Policy{}, engine.Deps{})
	if err != nil {
		tb.Fatal(err)
	}
	snap, err := eng.Activate(context.Background(), bndl)
	if err != nil {
		tb.Fatal(err)
	}
	return snap
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkParseLine is the reading of one event, without evaluation; its subject is converted
// on the first reading only, as for a subject seen on many lines.
func BenchmarkParseLine(b *testing.B) {
	line := bytes.TrimSpace(benchLog(1))
	lr := newLineReader()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lr.parseLine(line); err != nil {
			b.Fatal(err)
		}
	}
}
