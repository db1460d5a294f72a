package lab

import "syscall"

// sysProcAttr has the kernel kill a monitor process if the thread that
// started it dies (see Monitor.Start).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
