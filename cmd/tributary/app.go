package main

import (
	"fmt"
	"os"
)

// runApp opens the desktop app. Until the app lands it says so.
func runApp(args []string) int {
	fmt.Fprintln(os.Stderr, "tributary: the desktop app is not built yet; try 'tributary interop --list'")
	return 1
}
