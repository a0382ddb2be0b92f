package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNoLocaleComplaint runs the test binary (which initialises Fyne as
// tributary does) under LANG=C.UTF-8 without LANGUAGE: Fyne must not log
// "Error parsing user locale".
func TestNoLocaleComplaint(t *testing.T) {
	if os.Getenv("TRIBUTARY_LOCALE_CHILD") == "1" {
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoLocaleComplaint$", "-test.count=1")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LANG=") && !strings.HasPrefix(kv, "LANGUAGE=") &&
			!strings.HasPrefix(kv, "LC_ALL=") && !strings.HasPrefix(kv, "LC_MESSAGES=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "LANG=C.UTF-8", "TRIBUTARY_LOCALE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "locale") {
		t.Fatalf("the child complained about the locale:\n%s", out)
	}
}
