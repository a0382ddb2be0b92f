package app

import (
	"context"
	"errors"
	"net"
)

// Problem is an error for people: what happened and what to do about it.
type Problem struct {
	// What says what happened, in a sentence.
	What string
	// Todo says what the user can do next.
	Todo string
	// Err is the underlying error, for logs; never shown on its own.
	Err error
}

// Error returns What and Todo together.
func (p *Problem) Error() string {
	if p.Todo == "" {
		return p.What
	}
	return p.What + " " + p.Todo
}

// Unwrap returns the underlying error.
func (p *Problem) Unwrap() error { return p.Err }

// AsProblem turns any error into a Problem, keeping one that already is,
// and otherwise naming what was being done and a generic next step.
func AsProblem(doing string, err error) *Problem {
	if err == nil {
		return nil
	}
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return &Problem{What: doing + " took too long: " + err.Error(), Todo: "Check your network connection and try again.", Err: err}
	case errors.Is(err, context.Canceled):
		return &Problem{What: doing + " was cancelled.", Todo: "Try again when you are ready.", Err: err}
	}
	return &Problem{What: doing + " failed: " + err.Error(), Todo: "Try again; if it keeps failing, check the address and your network.", Err: err}
}
