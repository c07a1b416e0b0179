package tests

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestShutdownUnderKeepAliveLoad: keep-alive clients send decisions without pause while the
// process gets SIGTERM. They behave as a load balancer does: they stop sending once /ready
// answers 503. Every request sent must get its answer, none a reset or an early close, and the
// process must then exit cleanly.
func TestShutdownUnderKeepAliveLoad(t *testing.T) {
	const clients = 8
	inst := startVerdictEnv(t, "", []string{"VERDICT_SERVER_SHUTDOWN_DELAY=1s"}, "--bundle", standardBundle(t))
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true},
	}
	defer client.CloseIdleConnections()
	var (
		stop             atomic.Bool
		sent, answered   atomic.Int64
		failMu           sync.Mutex
		failures         []string
		wg               sync.WaitGroup
		sawNotReady      = make(chan struct{})
		body             = `{"input":{"action":{"name":"read"}}}`
		readyPollPeriod  = 10 * time.Millisecond
		signalAfter      = 300 * time.Millisecond
		shutdownDeadline = 10 * time.Second
	)
	fail := func(format string, args ...any) {
		failMu.Lock()
		defer failMu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				sent.Add(1)
				resp, err := client.Post(inst.URL+"/v1/data/verdict/authz/allow", "application/json", strings.NewReader(body))
				if err != nil {
					fail("request failed: %v", err)
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					fail("answer %d, body error %v", resp.StatusCode, err)
					continue
				}
				answered.Add(1)
			}
		}()
	}
	// The load balancer: it polls /ready and stops traffic when it turns 503.
	go func() {
		defer close(sawNotReady)
		for {
			resp, err := client.Get(inst.URL + "/ready")
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable {
					stop.Store(true)
					return
				}
			}
			time.Sleep(readyPollPeriod)
		}
	}()
	time.Sleep(signalAfter)
	if err := inst.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sawNotReady:
	case <-time.After(shutdownDeadline):
		stop.Store(true)
		t.Error("/ready never answered 503 after SIGTERM")
	}
	wg.Wait()
	select {
	case <-inst.exited:
	case <-time.After(shutdownDeadline):
		t.Fatal("verdict did not exit after SIGTERM")
	}
	if code := inst.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed across SIGTERM; first: %s", len(failures), sent.Load(), failures[0])
	}
	if answered.Load() < 100 {
		t.Errorf("only %d requests answered: the load was too light to show anything", answered.Load())
	}
	t.Logf("%d requests sent, %d answered, %d failed", sent.Load(), answered.Load(), len(failures))
}
