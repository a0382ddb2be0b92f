package fedtest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel stop the server if the test binary dies
// (for example on a test timeout), so no GoToSocial is left running.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
