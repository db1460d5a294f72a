//go:build !linux

package probe

import "testing"

// silentAddress needs Linux's accept-queue behaviour (see the Linux version);
// elsewhere the silent TCP case is skipped. The silent HTTP case (a server
// that accepts and never answers) runs everywhere.
func silentAddress(t *testing.T) string {
	t.Skip("a SYN-dropping listener without root is only built on Linux")
	return ""
}
