// Command tributary is the Tributary app and its headless tools.
//
// With no subcommand it opens the app. Subcommands run headless:
//
//	tributary interop   MoQ interop test client (TAP output)
//	tributary relay     MoQ relay for an instance or a person
//	tributary publish   publish a test pattern, camera or file
//	tributary play      play a stream without a window, printing stats
package main

import (
	"fmt"
	"os"

	// Before Fyne initialises: quiets its complaint about C.UTF-8 (see the package).
	_ "github.com/tributary-live/tributary/cmd/tributary/internal/locale"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// commands maps a subcommand name to its entry point.
var commands = map[string]func(args []string) int{}

func run(args []string) int {
	if len(args) == 0 || (len(args[0]) > 0 && args[0][0] == '-') {
		return runApp(args)
	}
	if f, ok := commands[args[0]]; ok {
		return f(args[1:])
	}
	if args[0] == "help" {
		usage()
		return 0
	}
	fmt.Fprintf(os.Stderr, "tributary: unknown command %q\n", args[0])
	usage()
	return 2
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: tributary [command] [flags]\n\nWith no command, opens the app. Commands:")
	for name := range commands {
		fmt.Fprintln(os.Stderr, "  "+name)
	}
}
