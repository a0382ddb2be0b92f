package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadmeHeadless runs the README's "Headless" block as a new user
// pastes it (bash, in a fresh folder with bin/tributary), on free ports
// instead of 4443 and 4444: the publisher with its token goes on air, the
// player shows 150 frames with no decode error, and the interop runner
// passes its six cases.
func TestReadmeHeadless(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's relay, publisher, player and interop runner")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Headless\n.*?```sh\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no sh block under \"## Headless\"")
	}
	script := string(m[1])
	for _, port := range []string{"4443", "4444"} {
		if !strings.Contains(script, port) {
			t.Fatalf("the README block no longer uses port %s: update this test", port)
		}
		script = strings.ReplaceAll(script, port, strconv.Itoa(freeUDPAndTCPPort(t)))
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\nTRIBUTARY_RUN_MAIN=1 exec '" + self + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "bin", "tributary"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // anything the block left behind
	text := string(out)
	if err != nil {
		t.Fatalf("the README block failed: %v\n%s", err, tail(text, 40))
	}
	for _, want := range []string{`"frames":150`, `"decode_errors":0`, "ok 1 - setup-only", "ok 6 - subscribe-before-announce"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(text, "not ok") || strings.Contains(text, "UNAUTHORIZED") {
		t.Errorf("a case failed or a request was refused")
	}
	if t.Failed() {
		os.WriteFile(filepath.Join(os.TempDir(), "tributary-readme-headless.log"), out, 0o644)
		t.Logf("output (whole: %s):\n%s", filepath.Join(os.TempDir(), "tributary-readme-headless.log"), tail(text, 60))
	}
}

// freeUDPAndTCPPort returns a port free on 127.0.0.1 for both TCP and UDP
// when asked (another process may take it later; the relay then fails and
// so does the test, with its message).
func freeUDPAndTCPPort(t *testing.T) int {
	for i := 0; i < 20; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
