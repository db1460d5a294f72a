package azurite

import "syscall"

// sysProcAttr puts Azurite in its own process group (so Stop can signal the
// whole group) and has the kernel kill it if the starting thread dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
