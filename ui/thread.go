package ui

import (
	"bytes"
	"runtime"
	"strconv"

	"fyne.io/fyne/v2"
)

// goroutineID returns the current goroutine's number, read from its stack
// header ("goroutine 1 [running]:").
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}

// mainDo returns a dispatcher that runs functions on the Fyne thread with
// fyne.Do and drops them when Fyne runs them anywhere else: after the
// driver has shut down (SIGTERM, last window closed) fyne.Do runs functions
// inline on the caller's goroutine, and a late state or frame from the
// core must not touch widgets from there. main is the goroutine the app was
// built on, the one ShowAndRun runs on.
func mainDo(main uint64) func(func()) {
	return func(f func()) {
		fyne.Do(func() {
			if goroutineID() == main {
				f()
			}
		})
	}
}
