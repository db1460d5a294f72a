//go:build unix && !linux

package lab

import "syscall"

// sysProcAttr: outside Linux there is no parent-death signal, so a drill
// that crashes may leave monitor processes behind (pgrep nva-monitor).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{}
}
