//go:build !linux

package fedtest

import "os/exec"

// dieWithParent is a no-op where the kernel cannot tie a child's life to its parent.
func dieWithParent(cmd *exec.Cmd) {}
