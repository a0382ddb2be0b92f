package capture

import "time"

// Adapter lowers the video bitrate when the connection cannot keep up and
// raises it again slowly when it can (multiplicative decrease, slow additive
// increase). It is a plain value: the publisher feeds it what it wrote and what
// the session sent, on its own clock, and applies the bitrate it returns.
type Adapter struct {
	// Min and Max bound the bitrate in bits per second; Max is the preset's.
	Min, Max int
	// Window is how often Observe evaluates; 0 means one second.
	Window time.Duration

	cur         int
	winStart    time.Time
	lastWritten uint64
	lastSent    uint64
	bad         int
	goodSince   time.Time
	started     bool
}

// Bitrate returns the current target (Max before the first Observe).
func (a *Adapter) Bitrate() int {
	if a.cur == 0 {
		return a.Max
	}
	return a.cur
}

// Observe takes the total payload bytes written into the published tracks and
// the total sent by the session, at now. It returns the bitrate to use and
// whether it changed. Two windows in a row in which the session sent less than
// 80% of what was written count as congestion: the bitrate drops by 30%, or
// to 85% of what the session sent in the last window if that is lower (an
// encoder often makes less than its target, so a cut of the target alone
// may take many windows to bite). After ten seconds without congestion it
// rises by 10% a window, up to Max.
func (a *Adapter) Observe(now time.Time, written, sent uint64) (int, bool) {
	if a.Window <= 0 {
		a.Window = time.Second
	}
	if a.cur == 0 {
		a.cur = a.Max
	}
	if !a.started {
		a.started = true
		a.winStart, a.lastWritten, a.lastSent, a.goodSince = now, written, sent, now
		return a.cur, false
	}
	if now.Sub(a.winStart) < a.Window {
		return a.cur, false
	}
	dw, ds := written-a.lastWritten, sent-a.lastSent
	if written < a.lastWritten || sent < a.lastSent { // counters restarted (a new session)
		dw, ds = 0, 0
	}
	elapsed := now.Sub(a.winStart)
	a.winStart, a.lastWritten, a.lastSent = now, written, sent
	if dw > 0 && float64(ds) < 0.8*float64(dw) {
		a.bad++
	} else {
		a.bad = 0
	}
	old := a.cur
	switch {
	case a.bad >= 2:
		carried := int(float64(ds) * 8 / elapsed.Seconds() * 0.85) // bit/s the link took
		a.cur = max(a.Min, min(a.cur*7/10, carried))
		a.bad = 0
		a.goodSince = now
	case now.Sub(a.goodSince) >= 10*time.Second && a.bad == 0:
		a.cur = min(a.Max, a.cur*11/10)
	}
	return a.cur, a.cur != old
}

// Reset forgets the counters, as after a reconnect, keeping the current bitrate.
func (a *Adapter) Reset() { a.started = false; a.bad = 0 }
