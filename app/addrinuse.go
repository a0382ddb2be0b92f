package app

import (
	"errors"
	"syscall"
)

// isAddrInUse reports whether err says a port is taken.
func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE)
}
