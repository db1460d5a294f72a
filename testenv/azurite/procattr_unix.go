//go:build unix && !linux

package azurite

import "syscall"

// sysProcAttr puts Azurite in its own process group so Stop can signal the
// whole group. Outside Linux there is no parent-death signal: a test binary
// that crashes leaves Azurite running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
