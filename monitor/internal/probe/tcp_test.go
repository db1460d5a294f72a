package probe

import (
	"context"
	"net"
	"testing"
	"time"
)

// generous bounds: the machine is shared and loaded; these only have to tell
// "at once" from "after the timeout" and "after the timeout" from "hung".
const (
	slack       = 3 * time.Second
	testTimeout = 10 * time.Second
)

// listening returns the address of a TCP listener on 127.0.0.1 that accepts
// and closes every connection.
func listening(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return ln.Addr().String()
}

// closedPort returns a 127.0.0.1 address where nothing listens, so a
// connection attempt is refused (RST).
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// probeOnce runs p under timeout and returns its failure, duration and error.
func probeOnce(p Prober, timeout time.Duration) (Failure, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err := p.Probe(ctx)
	return Classify(err), time.Since(start), err
}

func TestTCP(t *testing.T) {
	t.Run("a listening port is healthy", func(t *testing.T) {
		f, _, err := probeOnce(TCP{Address: listening(t)}, testTimeout)
		if err != nil || f != NoFailure {
			t.Errorf("Probe = %v (%q), want nil", err, f)
		}
	})

	t.Run("a closed port is refused at once, long before the timeout", func(t *testing.T) {
		f, took, err := probeOnce(TCP{Address: closedPort(t)}, testTimeout)
		if f != Refused {
			t.Errorf("failure = %q (%v), want refused", f, err)
		}
		if took > slack {
			t.Errorf("refusal took %s, want well under the %s timeout", took, testTimeout)
		}
	})

	t.Run("a silent port is a timeout after about the timeout", func(t *testing.T) {
		addr := silentAddress(t)
		const timeout = 400 * time.Millisecond
		f, took, err := probeOnce(TCP{Address: addr}, timeout)
		if f != Timeout {
			t.Errorf("failure = %q (%v), want timeout", f, err)
		}
		if took < timeout-50*time.Millisecond || took > timeout+slack {
			t.Errorf("probe took %s, want about %s", took, timeout)
		}
	})

	t.Run("an unparsable address is other", func(t *testing.T) {
		f, _, err := probeOnce(TCP{Address: "no-port"}, testTimeout)
		if f != Other {
			t.Errorf("failure = %q (%v), want other", f, err)
		}
	})
}
