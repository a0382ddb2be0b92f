// Package jitter holds the player's jitter buffer: a plain data structure that
// takes media frames with the time they arrived and gives them back, in order,
// when their playout time has come.
//
// It starts no goroutine and reads no clock: every call that depends on time
// takes the current time as an argument, so the same sequence of calls always
// gives the same result (the tests drive it with tables of push sequences).
//
// Playout follows a media clock: mediaNow(now) = anchorMedia + (now-anchorLocal)*rate.
// A frame is due when its timestamp is at or before mediaNow. The live edge is
// the newest media time the network could have delivered by now, estimated as
// now minus the smallest transit time (arrival minus timestamp) seen in a
// sliding window, so sender and receiver clocks need not agree. The buffer's
// delay is edge minus mediaNow; it is held at the target by re-anchoring at
// start, by nudging the rate a few percent, and by skipping to the newest
// group when it passes the ceiling.
//
// Joining mid-group, the first frames are the relay's cache of the joined
// group, delivered as fast as the network allows: their transit is their
// age, not the network's delay. When the caller knows the join point
// (SetJoin: the largest location of SUBSCRIBE_OK) those frames are marked
// Cached: they feed neither the live edge nor the jitter estimate, and
// before the playout clock starts the first of them (the join picture) and
// those that could not be on time anyway are released at once, marked
// CatchUp, to be decoded without waiting for the clock. Whether or not the
// join point is known, the clock starts only once the smallest transit
// stopped falling (settleFrames), so that a catch-up does not pass for the
// live edge.
package jitter

import (
	"errors"
	"time"
)

// Mode selects how the target delay is chosen.
type Mode int

const (
	// Realtime derives the target from the measured round-trip time and jitter.
	Realtime Mode = iota
	// Fixed holds a constant delay.
	Fixed
	// Range follows the real-time estimate, clamped to a minimum and maximum delay.
	Range
)

// Target is a latency target for the buffer.
type Target struct {
	// Mode selects how the delay is chosen.
	Mode Mode
	// Delay is the constant delay of the Fixed mode.
	Delay time.Duration
	// Min and Max bound the delay of the Range mode; Max is also its ceiling.
	Min, Max time.Duration
}

// Limits on targets and defaults of Config.
const (
	// MinDelay is the smallest target delay the buffer aims for.
	MinDelay = 20 * time.Millisecond
	// MaxDelay is the largest target delay the buffer accepts.
	MaxDelay = 10 * time.Second
	// DefaultMaxFrames bounds the frames held when Config.MaxFrames is zero.
	DefaultMaxFrames = 2048
	// DefaultMaxBytes bounds the payload bytes held when Config.MaxBytes is zero.
	DefaultMaxBytes = 64 << 20
	// settleTolerance, settleFrames and settleTimeout decide when the
	// playout clock starts: right after a join the first frames are often
	// the relay's cache, delivered faster than real time (in bursts, a
	// congestion window per round trip), each with a smaller transit than
	// the one before, which hides the live edge. The clock starts once
	// settleFrames frames in a row (the one that set it included) left the
	// smallest transit within settleTolerance, or settleTimeout after the
	// first frame. (Two frames are not enough: the first frame of each
	// burst of a catch-up does not lower the minimum.)
	settleTolerance = 10 * time.Millisecond
	settleFrames    = 3
	settleTimeout   = 500 * time.Millisecond
	// floorCalm is how long the smallest transit must have held (besides
	// settleFrames) before Transit offers it to the other tracks: the
	// start of a catch-up in slow start can pass for live frames for a few
	// frames, and holding every track back by a catch-up's transit would
	// show the joined group's old frames at real-time pace.
	floorCalm = 150 * time.Millisecond
	// catchUpJump: when the smallest transit fell this much below the one
	// the playout clock was anchored on (the frames it came from were a
	// catch-up, not live) and the delay is this much above the target, the
	// clock jumps to the target at once instead of nudging there for
	// seconds.
	catchUpJump = 100 * time.Millisecond
	// transitWindow is the length of one half of the sliding minimum of transit times.
	transitWindow = 10 * time.Second
)

// Config configures a Buffer.
type Config struct {
	// Target is the latency target.
	Target Target
	// MaxFrames bounds the number of frames held (DefaultMaxFrames if zero).
	MaxFrames int
	// MaxBytes bounds the payload bytes held (DefaultMaxBytes if zero).
	MaxBytes int
	// Nudge is the largest playback-rate change used to hold the target, as a
	// fraction (0.03 for 3%); zero disables nudging.
	Nudge float64
	// NeedKeyframe makes the buffer drop frames until a keyframe starts the
	// stream and after any frame was lost to the bounds (video); audio frames
	// are all keyframes and may leave it false.
	NeedKeyframe bool
}

// Frame is one media frame (a MoQ object) in the buffer.
type Frame struct {
	// Group and Object are the MoQ group and object ids; frames are released
	// in (Group, Object) order.
	Group, Object uint64
	// Keyframe marks a frame that can be decoded on its own (a group start).
	Keyframe bool
	// Timestamp is the media timestamp (the LOC capture time), on any fixed origin.
	Timestamp time.Duration
	// Payload is the frame's bytes; the buffer keeps the slice, it does not copy it.
	Payload []byte
	// Cached is set by Push on a frame at or before the join point
	// (SetJoin): it was already in the relay's cache when the subscription
	// began, so its arrival tells its age, not the network's delay, and it
	// does not feed the transit and jitter estimates.
	Cached bool
	// Arrival is when Push received the frame.
	Arrival time.Time
	// Late is how far past its playout time the frame was when Pop released it.
	Late time.Duration
	// CatchUp is set by Pop on a cached frame released before the playout
	// clock started: the stream's first frame (show it at once: the join
	// picture) or one at least a target older than the newest frame held
	// (it cannot be on time: decode it, a reference of later frames, and
	// do not show it).
	CatchUp bool
}

// Stats counts what the buffer did.
type Stats struct {
	// Pushed counts frames accepted by Push.
	Pushed uint64
	// Popped counts frames released by Pop.
	Popped uint64
	// TooLate counts frames dropped on arrival because a later frame had already been released.
	TooLate uint64
	// Duplicates counts frames dropped on arrival because the same id was held.
	Duplicates uint64
	// Skipped counts frames dropped by skips to the newest group.
	Skipped uint64
	// Skips counts skips to the newest group.
	Skips uint64
	// Overflow counts frames dropped to keep within the bounds.
	Overflow uint64
	// NoKeyframe counts frames dropped while waiting for a keyframe.
	NoKeyframe uint64
	// CatchUp counts cached frames released as CatchUp.
	CatchUp uint64
	// Frames and Bytes are what the buffer holds now.
	Frames, Bytes int
	// Target is the current target delay.
	Target time.Duration
	// Delay is the current delay between the live edge and the playout clock.
	Delay time.Duration
	// Jitter is the smoothed inter-arrival jitter (RFC 3550, section 6.4.1).
	Jitter time.Duration
	// Rate is the current playback rate (1 without nudging).
	Rate float64
}

// Errors returned by Push.
var (
	// ErrTooLate means a frame arrived after a later frame was released.
	ErrTooLate = errors.New("jitter: frame arrived after its successor was played")
	// ErrDuplicate means a frame with the same group and object is already held.
	ErrDuplicate = errors.New("jitter: duplicate frame")
	// ErrNoKeyframe means the frame was dropped while the buffer waits for a keyframe.
	ErrNoKeyframe = errors.New("jitter: waiting for a keyframe")
	// ErrTooBig means a single frame is larger than the byte bound.
	ErrTooBig = errors.New("jitter: frame larger than the buffer")
)

// Buffer is a jitter buffer. It is not safe for concurrent use.
type Buffer struct {
	cfg    Config
	frames []Frame // sorted by (Group, Object); frames[head:] are held
	head   int
	bytes  int

	// transit minimum over a sliding window: the minimum of the current and
	// previous windows, in nanoseconds of arrival.UnixNano() - timestamp.
	haveTransit        bool
	curMin, prevMin    int64
	curStart           time.Time
	lastTransit        int64
	jitter             float64 // ns
	rtt                time.Duration
	needKey            bool
	started            bool
	anchorLocal        time.Time
	anchorMedia        time.Duration
	rate               float64
	lastGroup, lastObj uint64
	released           bool
	stats              Stats
	lastDelay          time.Duration
	floor              int64
	haveFloor          bool
	firstArrival       time.Time
	settled            bool
	following          bool
	newest             time.Duration // the largest timestamp pushed
	haveNewest         bool
	calm               int       // frames since the smallest transit last fell by more than settleTolerance
	calmSince          time.Time // when it last fell
	lastArrival        time.Time // of the last frame that fed the transit estimate
	join               [2]uint64 // SetJoin's location
	hasJoin            bool
	anchorTransit      int64 // minTransit when the clock was last placed on the edge
	haveAnchorTransit  bool
	haveCached         bool      // a cached frame arrived
	firstCached        time.Time // when the first did
	lastCached         time.Time // when the last did
	cachedMin          int64     // the smallest transit of cached frames
}

// New returns an empty buffer.
func New(cfg Config) *Buffer {
	if cfg.MaxFrames <= 0 {
		cfg.MaxFrames = DefaultMaxFrames
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Nudge < 0 {
		cfg.Nudge = 0
	}
	if cfg.Nudge > 0.25 {
		cfg.Nudge = 0.25
	}
	return &Buffer{cfg: cfg, rate: 1, needKey: cfg.NeedKeyframe}
}

// SetRTT records the round-trip time measured by the transport; the Realtime
// and Range targets use it.
func (b *Buffer) SetRTT(rtt time.Duration) {
	if rtt < 0 {
		rtt = 0
	}
	b.rtt = rtt
}

// SetJoin tells the buffer where its subscription joined: the publisher's
// largest location when it began (the Largest Location of SUBSCRIBE_OK,
// draft-ietf-moq-transport-18 section 10.2.11). Frames up to it are marked
// Cached (see Frame.Cached and Frame.CatchUp).
func (b *Buffer) SetJoin(group, object uint64) {
	b.join, b.hasJoin = [2]uint64{group, object}, true
}

// SetTarget changes the latency target; the buffer moves to it by nudging or skipping.
func (b *Buffer) SetTarget(t Target) { b.cfg.Target = t }

// Len reports the number of frames held.
func (b *Buffer) Len() int { return len(b.frames) - b.head }

// Push adds a frame that arrived at the given time. It returns an error when
// the frame was dropped (too late, duplicate, waiting for a keyframe, too big);
// the buffer stays usable.
func (b *Buffer) Push(f Frame, arrival time.Time) error {
	f.Arrival = arrival
	f.Late = 0
	f.CatchUp = false
	f.Cached = b.hasJoin && !after(f.Group, f.Object, b.join[0], b.join[1])
	if len(f.Payload) > b.cfg.MaxBytes {
		b.stats.Overflow++
		return ErrTooBig
	}
	if b.released && !after(f.Group, f.Object, b.lastGroup, b.lastObj) {
		b.stats.TooLate++
		return ErrTooLate
	}
	b.observeTransit(f, arrival)
	if b.needKey && b.Len() == 0 && !f.Keyframe {
		b.stats.NoKeyframe++
		return ErrNoKeyframe
	}
	if b.head > 0 && len(b.frames) == cap(b.frames) {
		b.compact()
	}
	// Find the insertion point, usually at the end.
	i := len(b.frames)
	for i > b.head && after(b.frames[i-1].Group, b.frames[i-1].Object, f.Group, f.Object) {
		i--
	}
	if i > b.head && b.frames[i-1].Group == f.Group && b.frames[i-1].Object == f.Object {
		b.stats.Duplicates++
		return ErrDuplicate
	}
	if b.cfg.NeedKeyframe && !b.released && i == b.head && !f.Keyframe {
		// It would come before the keyframe the stream starts with.
		b.stats.NoKeyframe++
		return ErrNoKeyframe
	}
	b.frames = append(b.frames, Frame{})
	copy(b.frames[i+1:], b.frames[i:])
	b.frames[i] = f
	if !b.haveNewest || f.Timestamp > b.newest {
		b.newest, b.haveNewest = f.Timestamp, true
	}
	b.bytes += len(f.Payload)
	b.stats.Pushed++
	b.enforceBounds()
	return nil
}

// Pop returns the next frame if it is due at now. The caller decodes every
// frame it gets; Frame.Late tells how far behind its playout time it was.
func (b *Buffer) Pop(now time.Time) (Frame, bool) {
	if b.Len() == 0 {
		b.update(now)
		return Frame{}, false
	}
	if !b.started {
		if b.catchUp() {
			f := b.release()
			f.CatchUp = true
			b.stats.CatchUp++
			return f, true
		}
		if !b.ready(now) {
			return Frame{}, false
		}
		b.start(now)
	}
	b.update(now)
	m := b.mediaNow(now)
	if b.frames[b.head].Timestamp > m {
		return Frame{}, false
	}
	b.skipLate(m)
	f := b.release()
	f.Late = m - f.Timestamp
	return f, true
}

// release takes the head frame out.
func (b *Buffer) release() Frame {
	f := b.frames[b.head]
	b.frames[b.head] = Frame{}
	b.head++
	b.bytes -= len(f.Payload)
	if b.head == len(b.frames) {
		b.frames = b.frames[:0]
		b.head = 0
	}
	b.lastGroup, b.lastObj, b.released = f.Group, f.Object, true
	b.stats.Popped++
	return f
}

// catchUp reports whether the head frame, before the playout clock started,
// is a cached frame to release at once (see Frame.CatchUp).
func (b *Buffer) catchUp() bool {
	f := &b.frames[b.head]
	if !f.Cached {
		return false
	}
	return !b.released || f.Timestamp < b.newest-b.target()
}

// live reports whether the transit estimate comes from live frames: the
// smallest transit stopped falling (see settleFrames), or settleTimeout
// passed since the first frame that fed it.
func (b *Buffer) live(now time.Time) bool {
	return b.haveTransit && (b.settled || now.Sub(b.firstArrival) >= settleTimeout)
}

// NextDue reports when the next held frame becomes due, as seen at now; false
// if the buffer is empty, or holds only cached frames that wait for the
// clock to start on a live one. The time may be in the past (the frame is
// due now).
func (b *Buffer) NextDue(now time.Time) (time.Time, bool) {
	if b.Len() == 0 {
		return time.Time{}, false
	}
	if !b.started {
		if b.catchUp() {
			return now, true
		}
		if !b.haveTransit {
			// Only cached frames so far: the clock waits for a live one,
			// at most settleTimeout after the last of them.
			return b.lastCached.Add(settleTimeout), true
		}
		if !b.ready(now) {
			return b.firstArrival.Add(settleTimeout), true
		}
		b.start(now)
	}
	ts := b.frames[b.head].Timestamp
	m := b.mediaNow(now)
	if ts <= m {
		return now, true
	}
	wait := time.Duration(float64(ts-m) / b.rate)
	return now.Add(wait), true
}

// MediaNow reports the playout clock at now: frames with timestamps at or
// before it are due. It is zero before the first frame was due.
func (b *Buffer) MediaNow(now time.Time) time.Duration {
	if !b.started {
		return 0
	}
	return b.mediaNow(now)
}

// Clock is a buffer's playout clock: mediaNow = AnchorMedia + (now-AnchorLocal)*Rate.
type Clock struct {
	// AnchorLocal and AnchorMedia are a local time and the media time it maps to.
	AnchorLocal time.Time
	AnchorMedia time.Duration
	// Rate is the playback rate.
	Rate float64
}

// Clock reports the playout clock, and false before it started.
func (b *Buffer) Clock() (Clock, bool) {
	return Clock{b.anchorLocal, b.anchorMedia, b.rate}, b.started
}

// Follow makes the buffer play out on another buffer's clock (the player
// makes video follow audio so both tracks release frames together); the
// buffer then neither starts, nudges nor re-anchors its own clock. Unfollow
// returns it to its own clock, continuing from where the followed one was.
func (b *Buffer) Follow(c Clock) {
	if c.Rate <= 0 {
		return
	}
	b.following = true
	b.started = true
	b.anchorLocal, b.anchorMedia, b.rate = c.AnchorLocal, c.AnchorMedia, c.Rate
}

// Unfollow returns the buffer to its own clock.
func (b *Buffer) Unfollow() { b.following = false }

// Rate reports the current playback rate (1 unless nudging).
func (b *Buffer) Rate() float64 { return b.rate }

// Stats reports counters and the current state.
func (b *Buffer) Stats() Stats {
	s := b.stats
	s.Frames = b.Len()
	s.Bytes = b.bytes
	s.Target = b.target()
	s.Delay = b.lastDelay
	s.Jitter = time.Duration(b.jitter)
	s.Rate = b.rate
	return s
}

// Reset drops every frame and starts over, as after a new subscription.
func (b *Buffer) Reset() {
	stats := b.stats
	cfg := b.cfg
	rtt := b.rtt
	*b = *New(cfg)
	b.stats = stats
	b.rtt = rtt
}

func after(g1, o1, g2, o2 uint64) bool {
	return g1 > g2 || (g1 == g2 && o1 > o2)
}

func (b *Buffer) observeTransit(f Frame, arrival time.Time) {
	if f.Cached {
		// Kept aside in case no live frame follows (a broadcast that
		// ended, a stalled one): see ready.
		tr := arrival.UnixNano() - int64(f.Timestamp)
		if !b.haveCached {
			b.haveCached, b.firstCached, b.cachedMin = true, arrival, tr
		}
		b.cachedMin, b.lastCached = min(b.cachedMin, tr), arrival
		return
	}
	tr := arrival.UnixNano() - int64(f.Timestamp)
	b.lastArrival = arrival
	if !b.haveTransit {
		b.haveTransit = true
		b.curMin, b.prevMin = tr, tr
		b.curStart = arrival
		b.lastTransit = tr
		b.firstArrival = arrival
		b.calm, b.calmSince = 1, arrival
		return
	}
	if tr < min(b.curMin, b.prevMin)-int64(settleTolerance) {
		b.calm, b.calmSince = 1, arrival
	} else if b.calm++; b.calm >= settleFrames {
		b.settled = true
	}
	if arrival.Sub(b.curStart) >= transitWindow {
		b.prevMin = b.curMin
		b.curMin = tr
		b.curStart = arrival
	}
	b.curMin = min(b.curMin, tr)
	// RFC 3550 section 6.4.1 inter-arrival jitter, in nanoseconds, from
	// live frames only: a catch-up's falling transit is no jitter.
	d := float64(tr - b.lastTransit)
	if d < 0 {
		d = -d
	}
	if b.settled {
		b.jitter += (d - b.jitter) / 16
	}
	b.lastTransit = tr
}

func (b *Buffer) minTransit() int64 {
	m := min(b.curMin, b.prevMin)
	if b.haveFloor {
		m = max(m, b.floor)
	}
	return m
}

// Transit reports the smallest transit time (arrival minus timestamp) seen in
// the sliding window, before any floor; false until it comes from live
// frames (not a join's catch-up: see settleFrames and floorCalm), so that a
// track still catching up does not hold the others back.
func (b *Buffer) Transit() (time.Duration, bool) {
	at := b.lastArrival
	ok := b.haveTransit && (b.settled && at.Sub(b.calmSince) >= floorCalm || at.Sub(b.firstArrival) >= settleTimeout)
	return time.Duration(min(b.curMin, b.prevMin)), ok
}

// SetTransitFloor makes the buffer place the live edge no later than the
// given transit allows. A player with several tracks passes the largest
// Transit of all of them to each, so that their playout clocks agree and
// audio and video stay in sync.
func (b *Buffer) SetTransitFloor(d time.Duration) {
	b.floor = int64(d)
	b.haveFloor = true
}

// edge is the newest media time the network could have delivered by now.
func (b *Buffer) edge(now time.Time) time.Duration {
	return time.Duration(now.UnixNano() - b.minTransit())
}

func (b *Buffer) mediaNow(now time.Time) time.Duration {
	return b.anchorMedia + time.Duration(float64(now.Sub(b.anchorLocal))*b.rate)
}

func (b *Buffer) target() time.Duration {
	t := b.cfg.Target
	var d time.Duration
	switch t.Mode {
	case Fixed:
		d = t.Delay
	default:
		// Enough for the observed jitter (three deviations) and one
		// retransmission (one round trip) of a lost packet.
		d = b.rtt + 3*time.Duration(b.jitter) + 10*time.Millisecond
		if t.Mode == Range {
			d = max(d, t.Min)
			if t.Max > 0 {
				d = min(d, t.Max)
			}
		}
	}
	return min(max(d, MinDelay), MaxDelay)
}

func (b *Buffer) ceiling(target time.Duration) time.Duration {
	if b.cfg.Target.Mode == Range && b.cfg.Target.Max >= target {
		return b.cfg.Target.Max
	}
	return target + max(target, 250*time.Millisecond)
}

// ready reports whether the playout clock may start (see settleFrames).
// When no live frame came within settleTimeout of the last cached one (the
// broadcast ended or stalls), the clock starts on the cached frames' transit.
func (b *Buffer) ready(now time.Time) bool {
	if !b.haveTransit && b.haveCached && now.Sub(b.lastCached) >= settleTimeout {
		b.haveTransit = true
		b.curMin, b.prevMin, b.lastTransit = b.cachedMin, b.cachedMin, b.cachedMin
		b.curStart, b.firstArrival, b.lastArrival, b.calmSince = now, b.firstCached, now, now
	}
	return b.live(now)
}

func (b *Buffer) start(now time.Time) {
	b.started = true
	b.anchorLocal = now
	b.anchorMedia = b.edge(now) - b.target()
	b.rate = 1
	b.anchorTransit, b.haveAnchorTransit = b.minTransit(), true
}

// update re-anchors the playout clock: skip when behind the ceiling, nudge
// the rate toward the target otherwise.
func (b *Buffer) update(now time.Time) {
	if !b.started || !b.haveTransit {
		return
	}
	target := b.target()
	delay := b.edge(now) - b.mediaNow(now)
	b.lastDelay = delay
	if b.following {
		return
	}
	if delay > b.ceiling(target) {
		b.skip(now, target)
		b.lastDelay = target
		return
	}
	mt := b.minTransit()
	if !b.haveAnchorTransit {
		b.anchorTransit, b.haveAnchorTransit = mt, true
	}
	if mt < b.anchorTransit-int64(catchUpJump) && delay > target+catchUpJump {
		// The live edge is later than the clock was placed on: jump.
		b.anchorLocal = now
		b.anchorMedia = b.edge(now) - target
		b.rate = 1
		b.anchorTransit = mt
		b.stats.Skips++
		b.lastDelay = target
		return
	}
	if b.cfg.Nudge == 0 {
		return
	}
	tol := max(10*time.Millisecond, target/10)
	rate := b.rate
	switch {
	case delay > target+tol:
		rate = 1 + b.cfg.Nudge
	case delay < target-tol:
		rate = 1 - b.cfg.Nudge
	case rate > 1 && delay <= target, rate < 1 && delay >= target:
		rate = 1
	}
	if rate != b.rate {
		b.anchorMedia = b.mediaNow(now)
		b.anchorLocal = now
		b.rate = rate
	}
}

// skip drops every frame before the newest keyframe held and moves the
// playout clock to the target delay.
func (b *Buffer) skip(now time.Time, target time.Duration) {
	newest := -1
	for i := len(b.frames) - 1; i >= b.head; i-- {
		if b.frames[i].Keyframe {
			newest = i
			break
		}
	}
	if newest > b.head {
		b.dropFront(newest - b.head)
		b.stats.Skipped += uint64(newest - b.head)
	}
	b.stats.Skips++
	b.anchorLocal = now
	b.anchorMedia = b.edge(now) - target
	b.rate = 1
	b.anchorTransit, b.haveAnchorTransit = b.minTransit(), true
}

// skipLate drops the frames before the newest due keyframe when the head is
// so late that decoding them would only delay the newer group.
func (b *Buffer) skipLate(m time.Duration) {
	target := b.target()
	if m-b.frames[b.head].Timestamp <= max(b.ceiling(target)-target, 50*time.Millisecond) {
		return
	}
	k := -1
	for i := b.head + 1; i < len(b.frames) && b.frames[i].Timestamp <= m; i++ {
		if b.frames[i].Keyframe {
			k = i
		}
	}
	if k < 0 {
		return
	}
	b.stats.Skipped += uint64(k - b.head)
	b.stats.Skips++
	b.dropFront(k - b.head)
}

func (b *Buffer) dropFront(n int) {
	for i := b.head; i < b.head+n; i++ {
		b.bytes -= len(b.frames[i].Payload)
		b.frames[i] = Frame{}
	}
	b.head += n
	if b.head == len(b.frames) {
		b.frames = b.frames[:0]
		b.head = 0
	}
}

// enforceBounds drops the oldest groups (or, within one group, the oldest
// frames, then waits for a keyframe) until the buffer is within its bounds.
func (b *Buffer) enforceBounds() {
	for b.Len() > b.cfg.MaxFrames || b.bytes > b.cfg.MaxBytes {
		// Drop up to the next keyframe after the head, if any.
		next := -1
		for i := b.head + 1; i < len(b.frames); i++ {
			if b.frames[i].Keyframe {
				next = i
				break
			}
		}
		n := 1
		if next > 0 {
			n = next - b.head
		} else if b.cfg.NeedKeyframe {
			b.needKey = true
		}
		b.dropFront(n)
		b.stats.Overflow += uint64(n)
		if b.needKey {
			// Without a keyframe at the head the rest cannot be decoded.
			for b.Len() > 0 && !b.frames[b.head].Keyframe {
				b.dropFront(1)
				b.stats.Overflow++
			}
		}
	}
	if b.needKey && b.Len() > 0 && b.frames[b.head].Keyframe {
		b.needKey = false
	}
}

func (b *Buffer) compact() {
	n := copy(b.frames, b.frames[b.head:])
	for i := n; i < len(b.frames); i++ {
		b.frames[i] = Frame{}
	}
	b.frames = b.frames[:n]
	b.head = 0
}
