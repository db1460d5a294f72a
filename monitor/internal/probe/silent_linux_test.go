//go:build linux

package probe

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
)

// silentAddress returns a 127.0.0.1 address that drops SYNs: a connection
// attempt gets no answer at all, like a hung VM or a dropping firewall,
// which is different from a closed port (RST). No root is needed:
//
// A listening socket with backlog 0 has an accept queue of one connection
// (Linux counts "full" as more than the backlog). Nothing ever accepts, so
// once one connection sits in the queue, the kernel drops every further SYN
// (LISTENOVERFLOWS) and the client sees nothing until its deadline. Go's
// net.Listen always asks for somaxconn, hence the raw syscalls.
//
// The function checks that it really is silent (a dial times out) before
// returning, and skips the test if the kernel does not behave this way.
func silentAddress(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("create socket: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind socket: %v", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatalf("listen: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("read socket address: %v", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)

	const attempts = 8
	for range attempts {
		conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			t.Cleanup(func() { _ = conn.Close() })
			continue // filled one more slot
		}
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			return addr // the queue is full and SYNs are dropped
		}
		t.Fatalf("fill the accept queue of %s: %v", addr, err)
	}
	t.Skipf("kernel still completes handshakes on %s after %d connections to a backlog-0 listener; no silent endpoint available", addr, attempts)
	return ""
}
