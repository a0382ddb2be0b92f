package interop

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// tap writes TAP version 14 (https://testanything.org/tap-version-14-specification.html),
// the output format of the interop runner's test-client interface.
type tap struct {
	w io.Writer
	n int
}

func (t *tap) header(comments ...string) {
	fmt.Fprintln(t.w, "TAP version 14")
	for _, c := range comments {
		t.comment(c)
	}
}

func (t *tap) comment(c string) {
	for _, line := range strings.Split(c, "\n") {
		fmt.Fprintln(t.w, "# "+line)
	}
}

func (t *tap) plan(n int) { fmt.Fprintf(t.w, "1..%d\n", n) }

// point writes one test point and its YAML diagnostics, indented two spaces.
func (t *tap) point(ok bool, name, directive string, diag map[string]string) {
	t.n++
	status := "ok"
	if !ok {
		status = "not ok"
	}
	line := fmt.Sprintf("%s %d - %s", status, t.n, name)
	if directive != "" {
		line += " # " + directive
	}
	fmt.Fprintln(t.w, line)
	if len(diag) == 0 {
		return
	}
	keys := make([]string, 0, len(diag))
	for k := range diag {
		keys = append(keys, k)
	}
	// duration_ms first, then the rest in a stable order.
	sort.Slice(keys, func(i, j int) bool {
		if keys[i] == "duration_ms" || keys[j] == "duration_ms" {
			return keys[i] == "duration_ms"
		}
		return keys[i] < keys[j]
	})
	fmt.Fprintln(t.w, "  ---")
	for _, k := range keys {
		fmt.Fprintf(t.w, "  %s: %s\n", k, yamlScalar(diag[k]))
	}
	fmt.Fprintln(t.w, "  ...")
}

func (t *tap) bail(reason string) { fmt.Fprintln(t.w, "Bail out! "+oneLine(reason)) }

// yamlScalar quotes a value unless it is a plain number or identifier-like word.
func yamlScalar(v string) string {
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return v
	}
	plain := v != ""
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			plain = false
			break
		}
	}
	if v == "true" || v == "false" {
		return v // a YAML boolean
	}
	if plain && v != "null" && v != "yes" && v != "no" {
		return v
	}
	return strconv.Quote(oneLine(v))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
