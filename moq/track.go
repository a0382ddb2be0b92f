package moq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// The publisher model, after the object model of draft-ietf-moq-transport-18
// §2 {#model}: a Track is a sequence of Groups, a Group a sequence of Objects.
// One TrackWriter feeds a Track; any number of TrackReaders read it, each with
// its own cursor, so a slow reader never delays another. The Track caches its
// latest groups (bounded by count and bytes): a new reader starts at the first
// object of the current group, and a reader that falls behind the cache skips
// to the oldest group still held.

// Errors reported by tracks and groups.
var (
	// ErrTrackClosed is returned by writes to a track or group that has ended.
	ErrTrackClosed = errors.New("moq: track closed")
	// ErrGroupExists is returned when a group ID is not larger than the largest one written.
	ErrGroupExists = errors.New("moq: group already exists or is older than the largest group")
	// ErrObjectOrder is returned when an object ID does not increase within a group.
	ErrObjectOrder = errors.New("moq: object IDs must increase within a group")
	// ErrGroupIncomplete ends a group whose stream was reset before its end.
	ErrGroupIncomplete = errors.New("moq: group incomplete: its stream was reset")
	// ErrGroupTooLarge is returned when a group exceeds the track's byte budget.
	ErrGroupTooLarge = errors.New("moq: group exceeds the track cache size")
)

// Object is one MoQ object as the application sees it (draft-18 §2.1 {#model-object}).
type Object struct {
	// Group and ID locate the object in its track.
	Group, ID uint64
	// Subgroup is the subgroup the object travels on (draft-18 §2.2).
	Subgroup uint64
	// Priority is the publisher priority (draft-18 §7 {#priorities}).
	Priority uint8
	// Status marks end-of-group, end-of-track or a missing object (draft-18 §11.2.1.1).
	Status wire.ObjectStatus
	// Properties are the object's properties, e.g. LOC timestamps (draft-18 §11.2.1.2).
	Properties wire.Properties
	// Payload is the object's bytes, opaque to the transport.
	Payload []byte
	// Datagram asks for datagram forwarding instead of a subgroup stream.
	Datagram bool
	// Received is when the object's first byte arrived or was written; it
	// drives the object delivery timeout (draft-18 §8 {#delivery-timeouts}).
	Received time.Time

	// buf is the pooled buffer Payload lives in, if any (payload.go).
	buf *payloadBuf
}

// Location returns the object's location in its track.
func (o *Object) Location() wire.Location { return wire.Location{Group: o.Group, Object: o.ID} }

// TrackConfig bounds a track's cache and sets its publisher defaults.
type TrackConfig struct {
	// MaxGroups is how many of the latest groups are cached (default 2).
	MaxGroups int
	// MaxBytes bounds the cached payload bytes (default 64 MiB).
	MaxBytes int64
	// Priority is the default publisher priority (default 128).
	Priority uint8
	// GroupOrder is the publisher's preferred group order (default ascending).
	GroupOrder wire.GroupOrder
	// Properties are the track properties sent in SUBSCRIBE_OK and PUBLISH.
	Properties wire.Properties
}

func (c *TrackConfig) withDefaults() TrackConfig {
	out := TrackConfig{MaxGroups: 2, MaxBytes: 64 << 20, Priority: 128, GroupOrder: wire.GroupOrderAscending}
	if c == nil {
		return out
	}
	if c.MaxGroups > 0 {
		out.MaxGroups = c.MaxGroups
	}
	if c.MaxBytes > 0 {
		out.MaxBytes = c.MaxBytes
	}
	if c.Priority != 0 {
		out.Priority = c.Priority
	}
	if c.GroupOrder != 0 {
		out.GroupOrder = c.GroupOrder
	}
	out.Properties = c.Properties
	return out
}

// Track is the shared state of one track: its cached groups and who reads it.
type Track struct {
	name wire.FullTrackName
	cfg  TrackConfig

	mu         sync.Mutex
	groups     []*group // ascending by ID, at most cfg.MaxGroups
	bytes      int64
	largest    wire.Location // largest group started, or object written
	hasLargest bool
	// largestObj is the largest object written: a started group without
	// objects is not the Largest Object (draft-18 §5.1.2, §10.2.11).
	largestObj wire.Location
	hasObj     bool
	closed     bool
	closeErr   error
	// groupsChanged is made by the first waiter for a new group, a closed
	// reader or the track's end (NextGroup, waitForPredecessor) and closed
	// when one of them happens: nothing is made or woken while nobody
	// waits. Objects wake the waiters of their own group only (group.wait).
	groupsChanged chan struct{}
	done          chan struct{} // closed when the track ends
	readers       int
	idle          chan struct{} // closed and replaced when readers drops to 0
	objects       uint64        // objects written, for accounting
	written       uint64        // payload bytes written
	// lastLen is the object count of the latest group that ended (at most
	// maxPrealloc): a new group's object list starts with that capacity
	// rather than growing (and copying) its way up to it.
	lastLen int
	// Groups evicted from the cache before their end: they are still
	// written, so their bytes are bounded apart from the cache's.
	evictedOpen      map[*group]struct{}
	evictedOpenBytes int64
}

type group struct {
	id      uint64
	objects []Object
	bytes   int64
	done    bool  // end of group known
	err     error // group aborted (publisher reset)
	evicted bool  // no longer in the cache; bytes no longer counted there
	// readers counts the GroupReaders holding the group; released is set
	// once the group dropped its payload buffers' references (releaseLocked).
	readers  int
	released bool
	// wait is made by a reader waiting for the group's next object or end
	// and closed by the next change to the group: a new object wakes the
	// readers of its group that wait, and no one else.
	wait chan struct{}
}

// waitLocked returns the channel closed by the group's next change.
func (g *group) waitLocked() <-chan struct{} {
	if g.wait == nil {
		g.wait = make(chan struct{})
	}
	return g.wait
}

// notifyLocked wakes the readers waiting on the group, if any.
func (g *group) notifyLocked() {
	if g.wait != nil {
		close(g.wait)
		g.wait = nil
	}
}

// NewTrack creates a track and the writer that feeds it.
func NewTrack(name wire.FullTrackName, cfg *TrackConfig) (*Track, *TrackWriter) {
	t := &Track{name: name, cfg: cfg.withDefaults(), done: make(chan struct{}), idle: make(chan struct{})}
	return t, &TrackWriter{t: t}
}

// Name returns the track's full name.
func (t *Track) Name() wire.FullTrackName { return t.name }

// Config returns the track's configuration.
func (t *Track) Config() TrackConfig { return t.cfg }

// Largest returns the location of the largest object written, if any
// (draft-18 §10.2.11 LARGEST_OBJECT). A group that was started but holds no
// object yet does not count: a subscriber starting after it would miss the
// group's first object.
func (t *Track) Largest() (wire.Location, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.largestObj, t.hasObj
}

// Closed reports whether the track has ended, and why (nil for a clean end).
func (t *Track) Closed() (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed, t.closeErr
}

// Done returns a channel closed when the track ends.
func (t *Track) Done() <-chan struct{} { return t.done }

// Readers returns how many readers are open on the track.
func (t *Track) Readers() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.readers
}

// Stats returns the number of objects and payload bytes written to the track.
func (t *Track) Stats() (objects, bytes uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.objects, t.written
}

// Idle returns a channel that is closed the next time the reader count drops to zero.
func (t *Track) Idle() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.readers == 0 {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	return t.idle
}

// groupsWaitLocked returns the channel closed by the next new group, closed
// reader or the track's end.
func (t *Track) groupsWaitLocked() <-chan struct{} {
	if t.groupsChanged == nil {
		t.groupsChanged = make(chan struct{})
	}
	return t.groupsChanged
}

// notifyGroupsLocked wakes the waiters for a new group, a closed reader or
// the track's end.
func (t *Track) notifyGroupsLocked() {
	if t.groupsChanged != nil {
		close(t.groupsChanged)
		t.groupsChanged = nil
	}
}

// findLocked returns the cached group with the given ID.
func (t *Track) findLocked(id uint64) *group {
	for _, g := range t.groups {
		if g.id == id {
			return g
		}
	}
	return nil
}

// CachedGroups returns the IDs of the groups held in the cache, ascending.
func (t *Track) CachedGroups() []uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]uint64, len(t.groups))
	for i, g := range t.groups {
		ids[i] = g.id
	}
	return ids
}

// CachedObjects returns the cached objects of group id with IDs in [from, to]
// (inclusive; to = ^uint64(0) for all), and whether the group is cached. It
// serves FETCH from the cache (draft-18 §10.12 {#message-fetch}).
func (t *Track) CachedObjects(id, from, to uint64) ([]Object, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.findLocked(id)
	if g == nil {
		return nil, false
	}
	var out []Object
	for _, o := range g.objects {
		if o.ID >= from && o.ID <= to {
			o.buf.escape()
			out = append(out, o)
		}
	}
	return out, true
}

// lendCachedObjects is CachedObjects with the payloads lent, not given:
// each holds a reference to its buffer until release is called, so a
// relay serving FETCH from its cache does not take the buffers out of
// their pool.
func (t *Track) lendCachedObjects(id, from, to uint64) (objs []Object, release func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.findLocked(id)
	if g == nil {
		return nil, func() {}
	}
	for _, o := range g.objects {
		if o.ID >= from && o.ID <= to {
			o.buf.hold()
			objs = append(objs, o)
		}
	}
	return objs, func() {
		for i := range objs {
			objs[i].buf.release()
		}
	}
}

// TrackWriter feeds a Track. It is used by one goroutine at a time.
type TrackWriter struct {
	t *Track
}

// Track returns the track this writer feeds.
func (w *TrackWriter) Track() *Track { return w.t }

// AppendGroup starts the group after the largest one written (0 for the first).
func (w *TrackWriter) AppendGroup() (*GroupWriter, error) {
	w.t.mu.Lock()
	id := uint64(0)
	if w.t.hasLargest || len(w.t.groups) > 0 {
		id = w.t.largest.Group + 1
	}
	w.t.mu.Unlock()
	return w.CreateGroup(id)
}

// CreateGroup starts group id. IDs must increase; a relay writing what arrives
// out of order uses OpenGroup instead.
func (w *TrackWriter) CreateGroup(id uint64) (*GroupWriter, error) {
	t := w.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrTrackClosed
	}
	if t.findLocked(id) != nil || (t.hasLargest && id < t.largest.Group) {
		return nil, fmt.Errorf("%w: %d", ErrGroupExists, id)
	}
	return &GroupWriter{t: t, g: t.insertLocked(id)}, nil
}

// OpenGroup returns a writer for group id, creating it if needed: the
// subscriber side uses it when subgroups of one group arrive on several streams
// or after a joining FETCH. It returns nil when the group is older than every
// cached group (it would be evicted at once).
func (w *TrackWriter) OpenGroup(id uint64) (*GroupWriter, error) {
	t := w.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrTrackClosed
	}
	if g := t.findLocked(id); g != nil {
		return &GroupWriter{t: t, g: g}, nil
	}
	if len(t.groups) >= t.cfg.MaxGroups && id < t.groups[0].id {
		return nil, nil
	}
	return &GroupWriter{t: t, g: t.insertLocked(id)}, nil
}

// insertLocked adds an empty group in ID order and evicts what exceeds the cache.
func (t *Track) insertLocked(id uint64) *group {
	g := &group{id: id}
	if t.lastLen > 0 {
		if p, _ := objectLists.Get().(*[]Object); p != nil && cap(*p) >= t.lastLen {
			g.objects = (*p)[:0]
		} else {
			g.objects = make([]Object, 0, t.lastLen)
		}
	}
	i := len(t.groups)
	for i > 0 && t.groups[i-1].id > id {
		i--
	}
	t.groups = append(t.groups, nil)
	copy(t.groups[i+1:], t.groups[i:])
	t.groups[i] = g
	if !t.hasLargest || id > t.largest.Group {
		t.largest = wire.Location{Group: id}
		t.hasLargest = true
	}
	t.evictLocked()
	t.notifyGroupsLocked()
	return g
}

func (t *Track) evictLocked() {
	for len(t.groups) > t.cfg.MaxGroups || (t.bytes > t.cfg.MaxBytes && len(t.groups) > 1) {
		// An evicted group leaves the cache but not its readers: a reader
		// still on it (a relay forwarding it, a player decoding it) gets
		// the objects that still arrive, and its end as it comes. Cutting
		// it short would make a partial group look complete downstream.
		old := t.groups[0]
		t.groups = t.groups[1:]
		t.bytes -= old.bytes
		old.evicted = true
		if !old.done && old.err == nil {
			if t.evictedOpen == nil {
				t.evictedOpen = make(map[*group]struct{})
			}
			t.evictedOpen[old] = struct{}{}
			t.evictedOpenBytes += old.bytes
		}
		old.releaseLocked()
	}
}

// releaseLocked drops the group's references to its payload buffers once
// nothing can read it any more: it left the cache, its end is known, and
// no GroupReader holds it (payload.go).
func (g *group) releaseLocked() {
	if g.released || !g.evicted || (!g.done && g.err == nil) || g.readers > 0 {
		return
	}
	g.released = true
	for i := range g.objects {
		g.objects[i].buf.release()
	}
	// Nothing can reach the list any more: a new group reuses it.
	if cap(g.objects) <= maxPrealloc {
		clear(g.objects)
		l := g.objects[:0]
		objectLists.Put(&l)
	}
	g.objects = nil
}

// objectLists holds the object lists of released groups (releaseLocked).
var objectLists sync.Pool

// maxPrealloc bounds the object capacity a new group starts with.
const maxPrealloc = 256

// endedLocked records the length of a group that ended, and releases an
// evicted group's bytes from the budget of evicted unfinished groups once
// its end (or abort) is known.
func (t *Track) endedLocked(g *group) {
	if len(g.objects) > 0 {
		t.lastLen = min(len(g.objects), maxPrealloc)
	}
	if _, ok := t.evictedOpen[g]; ok {
		delete(t.evictedOpen, g)
		t.evictedOpenBytes -= g.bytes
	}
	g.releaseLocked()
}

// reorderWait bounds how long a group waits for its predecessor to appear.
// A predecessor whose stream lost a packet comes about a round trip late;
// one that does not come at all (the publisher dropped it) delays the next
// group by this much. 50 ms let a loaded machine (CI under -race) skip
// one-packet audio groups and a browser's groups now and then.
const reorderWait = 150 * time.Millisecond

// waitForPredecessor waits until group id-1 (or a later one) exists, or
// the timeout passes. first is the group the track is expected to start at.
func (t *Track) waitForPredecessor(ctx context.Context, id, first uint64, timeout time.Duration) {
	var timer *time.Timer
	for {
		t.mu.Lock()
		ok := id <= first || (t.hasLargest && t.largest.Group+1 >= id) || t.closed
		var changed <-chan struct{}
		if !ok {
			changed = t.groupsWaitLocked()
		}
		t.mu.Unlock()
		if ok {
			return
		}
		if timer == nil {
			timer = time.NewTimer(timeout)
			defer timer.Stop()
		}
		select {
		case <-changed:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// CloseGroupsBefore ends every unfinished group older than id for which keep
// returns false: the subscriber side calls it when a newer group starts, so
// readers of a group whose end was never signalled move on.
func (w *TrackWriter) CloseGroupsBefore(id uint64, keep func(uint64) bool) {
	t := w.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, g := range t.groups {
		if g.id < id && !g.done && g.err == nil && (keep == nil || !keep(g.id)) {
			g.done = true
			g.notifyLocked()
		}
	}
}

// Close ends the track: readers see io.EOF after the cached groups, or err.
func (w *TrackWriter) Close(err error) {
	t := w.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	t.closeErr = err
	close(t.done)
	end := func(g *group) {
		if !g.done && g.err == nil {
			if err != nil {
				g.err = err
			} else {
				g.done = true
			}
			g.notifyLocked()
		}
	}
	for _, g := range t.groups {
		end(g)
	}
	// Evicted groups still being read end with the track too.
	for g := range t.evictedOpen {
		end(g)
		g.releaseLocked()
	}
	t.evictedOpen, t.evictedOpenBytes = nil, 0
	t.notifyGroupsLocked()
}

// GroupWriter appends objects to one group.
type GroupWriter struct {
	t *Track
	g *group
}

// ID returns the group ID.
func (w *GroupWriter) ID() uint64 { return w.g.id }

// Write appends an object; its Group is set to this group, its ID must exceed
// the previous object's. Objects with Status end-of-group close the group.
func (w *GroupWriter) Write(o Object) error {
	t := w.t
	t.mu.Lock()
	defer t.mu.Unlock()
	g := w.g
	if t.closed || g.done || g.err != nil {
		return ErrTrackClosed
	}
	if n := len(g.objects); n > 0 && o.ID <= g.objects[n-1].ID {
		return fmt.Errorf("%w: %d after %d", ErrObjectOrder, o.ID, g.objects[n-1].ID)
	}
	size := int64(len(o.Payload))
	if g.bytes+size > t.cfg.MaxBytes {
		return ErrGroupTooLarge
	}
	if g.evicted {
		// Evicted groups still being written share one more MaxBytes: a
		// publisher keeping many groups open cannot grow memory without
		// bound (draft-18 §13).
		if _, open := t.evictedOpen[g]; open {
			if t.evictedOpenBytes+size > t.cfg.MaxBytes {
				return ErrGroupTooLarge
			}
			t.evictedOpenBytes += size
		}
	}
	o.Group = g.id
	if o.Priority == 0 {
		o.Priority = t.cfg.Priority
	}
	if o.Received.IsZero() {
		o.Received = time.Now()
	}
	g.objects = append(g.objects, o)
	o.buf.hold()
	g.bytes += size
	if !g.evicted {
		t.bytes += size
	}
	t.objects++
	t.written += uint64(size)
	if loc := o.Location(); !t.hasLargest || t.largest.Less(loc) {
		t.largest = loc
		t.hasLargest = true
	}
	if loc := o.Location(); !t.hasObj || t.largestObj.Less(loc) {
		t.largestObj, t.hasObj = loc, true
	}
	if o.Status == wire.StatusEndOfGroup || o.Status == wire.StatusEndOfTrack {
		g.done = true
		t.endedLocked(g)
	}
	t.evictLocked()
	g.notifyLocked()
	return nil
}

// WriteObject appends a normal object with the next ID and the given payload.
func (w *GroupWriter) WriteObject(payload []byte, props wire.Properties) error {
	w.t.mu.Lock()
	id := uint64(0)
	if n := len(w.g.objects); n > 0 {
		id = w.g.objects[n-1].ID + 1
	}
	w.t.mu.Unlock()
	return w.Write(Object{ID: id, Payload: payload, Properties: props})
}

// Close marks the end of the group.
func (w *GroupWriter) Close() {
	t := w.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if !w.g.done && w.g.err == nil {
		w.g.done = true
		t.endedLocked(w.g)
		w.g.notifyLocked()
	}
}

// Abort ends the group with an error: readers see err after what they read.
func (w *GroupWriter) Abort(err error) {
	t := w.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if !w.g.done && w.g.err == nil {
		w.g.err = err
		t.endedLocked(w.g)
		w.g.notifyLocked()
	}
}

// ReaderOptions chooses where a reader starts.
type ReaderOptions struct {
	// Start is the first group to read; nil starts at the current (latest) group.
	Start *uint64
}

// TrackReader reads a track's groups in order with its own cursor.
type TrackReader struct {
	t       *Track
	next    uint64 // smallest group ID not yet returned
	started bool
	closed  bool
	once    sync.Once
}

// Reader opens a reader on the track. Close it when done: the track counts its
// readers (a relay ends its upstream subscription when none are left).
func (t *Track) Reader(opts *ReaderOptions) *TrackReader {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.readers++
	r := &TrackReader{t: t}
	if opts != nil && opts.Start != nil {
		r.next, r.started = *opts.Start, true
	}
	return r
}

// Close releases the reader.
func (r *TrackReader) Close() {
	r.once.Do(func() {
		t := r.t
		t.mu.Lock()
		defer t.mu.Unlock()
		r.closed = true
		t.readers--
		if t.readers == 0 {
			close(t.idle)
			t.idle = make(chan struct{})
		}
		t.notifyGroupsLocked()
	})
}

// NextGroup waits for the next group after the last one returned and returns a
// reader on it. A reader that has not started begins at the latest group; one
// that fell behind the cache continues at the oldest group still cached. It
// returns io.EOF when the track ended cleanly, or the track's error.
func (r *TrackReader) NextGroup(ctx context.Context) (*GroupReader, error) {
	t := r.t
	for {
		t.mu.Lock()
		if r.closed {
			t.mu.Unlock()
			return nil, ErrTrackClosed
		}
		var found *group
		if !r.started {
			if n := len(t.groups); n > 0 {
				found = t.groups[n-1]
			}
		} else {
			for _, g := range t.groups {
				if g.id >= r.next {
					found = g
					break
				}
			}
		}
		if found != nil {
			r.started = true
			r.next = found.id + 1
			found.readers++
			t.mu.Unlock()
			return &GroupReader{t: t, g: found, held: true}, nil
		}
		if t.closed {
			err := t.closeErr
			t.mu.Unlock()
			if err == nil {
				err = io.EOF
			}
			return nil, err
		}
		changed := t.groupsWaitLocked()
		t.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// SkipTo makes the next NextGroup return group id or a later one.
func (r *TrackReader) SkipTo(id uint64) {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	if !r.started || id > r.next {
		r.next, r.started = id, true
	}
}

// Latest returns the ID of the newest cached group, if any.
func (r *TrackReader) Latest() (uint64, bool) {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	if n := len(r.t.groups); n > 0 {
		return r.t.groups[n-1].id, true
	}
	return 0, false
}

// GroupReader reads the objects of one group in order. Close it when done
// with it: payloads read with ReadObjectBorrowed stay valid until then.
type GroupReader struct {
	t     *Track
	g     *group
	index int
	// held is set while the reader holds its group (group.readers);
	// borrowed once it lent a payload, which Close alone may end.
	held, borrowed bool
	end            error // what every later read returns
}

// ID returns the group ID.
func (r *GroupReader) ID() uint64 { return r.g.id }

// ReadObject waits for the next object of the group. It returns io.EOF at the
// end of the group and the group's error if it was aborted. The payload is
// the caller's to keep.
func (r *GroupReader) ReadObject(ctx context.Context) (Object, error) {
	return r.read(ctx, false)
}

// ReadObjectBorrowed is ReadObject with the payload lent, not given: it
// stays valid until Close and must not be modified. A relay forwarding a
// group reads this way, so the payload's buffer can be reused once every
// reader closed the group and it left the cache (moq/payload.go).
func (r *GroupReader) ReadObjectBorrowed(ctx context.Context) (Object, error) {
	return r.read(ctx, true)
}

func (r *GroupReader) read(ctx context.Context, borrow bool) (Object, error) {
	t := r.t
	for {
		t.mu.Lock()
		if r.end != nil {
			err := r.end
			t.mu.Unlock()
			return Object{}, err
		}
		if r.index < len(r.g.objects) {
			o := r.g.objects[r.index]
			r.index++
			if borrow {
				r.borrowed = true
			} else {
				o.buf.escape()
			}
			t.mu.Unlock()
			return o, nil
		}
		if r.g.err != nil || r.g.done {
			r.end = r.g.err
			if r.end == nil {
				r.end = io.EOF
			}
			if !r.borrowed {
				// Nothing more can be read and nothing is lent: let go
				// of the group without waiting for Close.
				r.dropLocked()
			}
			t.mu.Unlock()
			return Object{}, r.end
		}
		changed := r.g.waitLocked()
		t.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Object{}, context.Cause(ctx)
		}
	}
}

// Close releases the reader's hold on the group: payloads from
// ReadObjectBorrowed must not be used after it; those from ReadObject stay
// valid. Reading after Close returns ErrTrackClosed, or the group's end if
// it was read.
func (r *GroupReader) Close() {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	r.dropLocked()
	if r.end == nil {
		r.end = ErrTrackClosed
	}
}

func (r *GroupReader) dropLocked() {
	if r.held {
		r.held = false
		r.g.readers--
		r.g.releaseLocked()
	}
}

// Buffered returns how many objects are available without waiting.
func (r *GroupReader) Buffered() int {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	return max(0, len(r.g.objects)-r.index)
}
