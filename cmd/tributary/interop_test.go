package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tributary-live/tributary/moq/interop"
)

func TestInteropCommandList(t *testing.T) {
	var out, errb bytes.Buffer
	if code := interopMain([]string{"--list"}, func(string) string { return "" }, &out, &errb); code != 0 {
		t.Fatalf("--list exit %d: %s", code, errb.String())
	}
	if got, want := strings.Fields(out.String()), interop.CaseNames(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("--list printed %v, want %v", got, want)
	}
}

func TestInteropCommandUnknownTest(t *testing.T) {
	var out, errb bytes.Buffer
	env := map[string]string{"RELAY_URL": "moqt://127.0.0.1:9/x", "TESTCASE": "no-such-case"}
	code := interopMain(nil, func(k string) string { return env[k] }, &out, &errb)
	if code != interop.ExitUnsupported {
		t.Errorf("unknown TESTCASE: exit %d, want %d", code, interop.ExitUnsupported)
	}
	if !strings.Contains(errb.String(), "no-such-case") {
		t.Errorf("stderr does not name the case: %q", errb.String())
	}
	// An explicit --test wins over TESTCASE.
	out.Reset()
	errb.Reset()
	code = interopMain([]string{"-t", "other-case"}, func(k string) string { return env[k] }, &out, &errb)
	if code != interop.ExitUnsupported || !strings.Contains(errb.String(), "other-case") {
		t.Errorf("-t other-case: exit %d, stderr %q", code, errb.String())
	}
}

func TestInteropCommandBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := interopMain([]string{"--draft", "7", "-r", "moqt://127.0.0.1:9/"}, func(string) string { return "" }, &out, &errb); code != interop.ExitFail {
		t.Errorf("--draft 7: exit %d, want %d", code, interop.ExitFail)
	}
	if code := interopMain([]string{"--nope"}, func(string) string { return "" }, &out, &errb); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code := interopMain([]string{"-r", "http://x/"}, func(string) string { return "" }, &out, &errb); code != interop.ExitFail {
		t.Errorf("http:// relay: exit %d, want %d", code, interop.ExitFail)
	}
}
