package probe

import (
	"context"
	"net"
)

// TCP is healthy when a TCP connection to Address ("host:port") can be
// established. The connection is closed at once; nothing is sent.
type TCP struct {
	Address string
}

// Probe makes one connection attempt, bounded by ctx.
func (t TCP) Probe(ctx context.Context) error {
	d := net.Dialer{KeepAlive: -1}
	conn, err := d.DialContext(ctx, "tcp", t.Address)
	if err != nil {
		return err // *net.OpError: "dial tcp 10.0.1.4:22: connect: connection refused"
	}
	// The handshake is the answer; a failed close says nothing about the NVA.
	_ = conn.Close()
	return nil
}
