package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for tributary: with
// TRIBUTARY_RUN_MAIN=1 it runs the command line instead of the tests
// (TestReadmeHeadless puts it on the README's path as bin/tributary).
func TestMain(m *testing.M) {
	if os.Getenv("TRIBUTARY_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}
