//go:build !nodevices && (darwin || windows)

package device

import "strings"

// isBusy reports whether err says the device is in use.
func isBusy(err error) bool {
	return err != nil && (strings.Contains(strings.ToLower(err.Error()), "busy") || strings.Contains(strings.ToLower(err.Error()), "in use"))
}
