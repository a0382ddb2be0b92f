// Command depcheck enforces Tributary's dependency direction:
// cmd -> ui -> app -> (fedi, player, capture, moq); player and capture -> moq;
// moq imports none of the others and no fyne. fedi may also import
// moq/netguard, the one address guard, and moq/wellknown, the one
// /.well-known/moq document, which import only the standard library.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

const module = "github.com/tributary-live/tributary"

// allowed lists, for each top-level folder, the project folders it may import.
var allowed = map[string][]string{
	"cmd":     {"cmd", "ui", "app", "fedi", "player", "capture", "moq", "assets"},
	"ui":      {"ui", "app", "fedi", "player", "capture", "moq", "assets"},
	"app":     {"app", "fedi", "player", "capture", "moq", "assets"},
	"player":  {"player", "moq"},
	"capture": {"capture", "moq"},
	"fedi":    {"fedi"},
	"moq":     {"moq"},
	"assets":  {"assets"},
	"scripts": {"scripts"},
}

// allowedPackages lists single packages a folder may import besides the
// folders in allowed.
var allowedPackages = map[string][]string{
	"fedi": {module + "/moq/netguard", module + "/moq/wellknown"},
}

// stdlibOnly lists packages that may import no project package (and so
// bring nothing of their folder along where allowedPackages lets them in).
// moq/wire is the pure codec (docs/ARCHITECTURE.md): nothing of ours, no
// third-party code either.
var stdlibOnly = map[string]bool{
	module + "/moq/netguard": true, module + "/moq/wellknown": true,
	module + "/moq/annexb": true, module + "/moq/wire": true,
}

// fyneFree lists the folders that must not import fyne.
var fyneFree = map[string]bool{"app": true, "player": true, "capture": true, "fedi": true, "moq": true}

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func top(path string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i]
	}
	return rest
}

func main() {
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "depcheck: go list:", err)
		os.Exit(2)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var bad []string
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "depcheck:", err)
			os.Exit(2)
		}
		from := top(p.ImportPath)
		ok, known := allowed[from]
		imports := append(append(append([]string{}, p.Imports...), p.TestImports...), p.XTestImports...)
		for _, imp := range imports {
			if fyneFree[from] && strings.HasPrefix(imp, "fyne.io/") {
				bad = append(bad, fmt.Sprintf("%s imports %s (no fyne below ui)", p.ImportPath, imp))
			}
			if stdlibOnly[p.ImportPath] && imp != p.ImportPath && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				bad = append(bad, fmt.Sprintf("%s imports %s (it may import only the standard library)", p.ImportPath, imp))
				continue
			}
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if imp == p.ImportPath {
				continue
			}
			if stdlibOnly[p.ImportPath] {
				bad = append(bad, fmt.Sprintf("%s imports %s (it may import only the standard library)", p.ImportPath, imp))
				continue
			}
			if !known {
				continue
			}
			to := top(imp)
			permitted := false
			for _, a := range ok {
				if a == to {
					permitted = true
				}
			}
			for _, a := range allowedPackages[from] {
				if a == imp {
					permitted = true
				}
			}
			if !permitted {
				bad = append(bad, fmt.Sprintf("%s imports %s (%s may not depend on %s)", p.ImportPath, imp, from, to))
			}
		}
	}
	if len(bad) > 0 {
		for _, b := range bad {
			fmt.Fprintln(os.Stderr, "depcheck:", b)
		}
		os.Exit(1)
	}
}
