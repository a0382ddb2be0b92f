// Package locale quiets Fyne's complaint about a "C.UTF-8" locale, the
// default of Debian servers and containers where `tributary relay` runs:
// Fyne reads the locale while its packages initialise and logs "Error parsing
// user locale C" on every start, for every subcommand.
//
// Package initialisation goes by import path among the packages whose imports
// are initialised (the Go spec, "Package initialization"): this one needs only
// os and strings, and sorts before text/template, which Fyne's lang package
// needs, so its init runs first when cmd/tributary imports it.
package locale

import (
	"os"
	"strings"
)

func init() { Apply() }

// Apply sets LANGUAGE=en when the locale in force (LC_ALL, LC_MESSAGES, LANG,
// the first set) is C or POSIX with a character set, and LANGUAGE is unset:
// Fyne's locale lookup then reads English instead of failing on "C". Programs
// that honour the C locale ignore LANGUAGE, so children are unaffected.
func Apply() {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := os.Getenv(k)
		if v == "" {
			continue
		}
		if (strings.HasPrefix(v, "C.") || strings.HasPrefix(v, "POSIX.")) && os.Getenv("LANGUAGE") == "" {
			os.Setenv("LANGUAGE", "en")
		}
		return
	}
}
