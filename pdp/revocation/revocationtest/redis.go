// Package revocationtest runs a real redis-server for tests of the Redis revocation store, in
// the way net/http/httptest runs an HTTP server: on a free loopback port, with no persistence,
// stopped when the test ends.
package revocationtest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Redis is one redis-server process started by a test.
type Redis struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	// URL is a redis:// URL for database 0, as revocation.redis_url takes it.
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

// StartRedis starts redis-server on a free port of 127.0.0.1 with persistence off and waits until
// it answers PING. The test is skipped, saying why, only when no redis-server binary is
// installed; any other failure fails it. The server stops when the test ends, or at Stop.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server); skipping the Redis tests")
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r, err := start(bin)
		if err == nil {
			t.Cleanup(r.Stop)
			return r
		}
		lastErr = err
	}
	t.Fatalf("redis-server: %v", lastErr)
	return nil
}

func start(bin string) (*Redis, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "yes")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	r := &Redis{Addr: addr, URL: "redis://" + addr + "/0", cmd: cmd, exited: exited}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return nil, fmt.Errorf("exited at start: %s", out.String())
		default:
		}
		if ping(addr) == nil {
			return r, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-exited
	return nil, fmt.Errorf("did not answer PING on %s", addr)
}

// Stop kills the server; later calls do nothing. A test calls it to simulate an outage.
func (r *Redis) Stop() {
	r.once.Do(func() {
		_ = r.cmd.Process.Kill()
		<-r.exited
	})
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
