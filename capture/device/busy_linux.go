//go:build !nodevices

package device

import (
	"errors"
	"syscall"
)

// isBusy reports whether err says the device is in use (EBUSY from V4L2).
func isBusy(err error) bool { return errors.Is(err, syscall.EBUSY) }
