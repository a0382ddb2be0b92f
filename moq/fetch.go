package moq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// FetchRequest describes a FETCH (draft-18 §10.12 {#message-fetch}): either
// standalone (Track, Start, End) or joining a subscription of this session.
type FetchRequest struct {
	// Track, Start and End describe a standalone fetch; End is inclusive.
	Track      wire.FullTrackName
	Start, End wire.Location
	// Joining makes a relative joining fetch for that subscription:
	// JoiningStart groups before its joining location (§10.12.2).
	Joining      *Subscription
	JoiningStart uint64
	// Priority is the subscriber priority; GroupOrder the order of groups.
	Priority   *uint8
	GroupOrder wire.GroupOrder
	// AuthToken is sent as an AUTHORIZATION TOKEN parameter.
	AuthToken []byte
}

// FetchStream delivers the objects of one FETCH in order.
type FetchStream struct {
	s         *Session
	rs        *requestStream
	requestID uint64
	ok        *wire.FetchOK
	order     wire.GroupOrder

	mu      sync.Mutex
	objects chan Object
	done    chan struct{} // closed when the data stream ended
	err     error
	closed  bool
	started bool
	ended   bool // the data stream ended
	okSeen  bool // FETCH_OK was read
}

// finishLocked ends this side of the request stream once both FETCH_OK was
// read and the data stream ended (draft-18 §5.2): the publisher's watch for
// a cancellation returns, and the session forgets the fetch.
func (f *FetchStream) finishLocked() {
	if !f.ended || !f.okSeen || f.closed {
		return
	}
	f.closed = true
	f.rs.str.Close()
	f.rs.str.CancelRead(uint64(wire.ResetCancelled))
}

// EndOfTrack reports whether FETCH_OK said the range reaches the track's end.
func (f *FetchStream) EndOfTrack() bool { return f.ok != nil && f.ok.EndOfTrack }

// End returns FETCH_OK's End Location (the last object plus one; object 0: whole group).
func (f *FetchStream) End() wire.Location {
	if f.ok == nil {
		return wire.Location{}
	}
	return f.ok.End
}

// ReadObject returns the next fetched object, io.EOF at the end of the range.
func (f *FetchStream) ReadObject(ctx context.Context) (Object, error) {
	select {
	case o, ok := <-f.objects:
		if ok {
			return o, nil
		}
		f.mu.Lock()
		err := f.err
		f.mu.Unlock()
		if err == nil {
			err = io.EOF
		}
		return Object{}, err
	case <-ctx.Done():
		return Object{}, context.Cause(ctx)
	case <-f.s.ctx.Done():
		return Object{}, context.Cause(f.s.ctx)
	}
}

// Close cancels the fetch if it is still running (§5.2).
func (f *FetchStream) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.mu.Unlock()
	f.rs.str.CancelRead(uint64(wire.ResetCancelled))
	f.rs.str.CancelWrite(uint64(wire.ResetCancelled))
	f.s.mu.Lock()
	delete(f.s.fetches, f.requestID)
	f.s.mu.Unlock()
}

// Fetch retrieves past objects of a track (draft-18 §10.12).
func (s *Session) Fetch(ctx context.Context, req *FetchRequest) (*FetchStream, error) {
	id, err := s.newRequestID()
	if err != nil {
		return nil, err
	}
	m := &wire.Fetch{RequestID: id}
	if req.Joining != nil {
		m.FetchType = wire.FetchRelativeJoining
		m.JoiningRequestID = req.Joining.requestID
		m.JoiningStart = req.JoiningStart
	} else {
		m.FetchType = wire.FetchStandalone
		m.Track = req.Track
		m.Start = req.Start
		if req.End.Object == math.MaxUint64 {
			m.End = wire.Location{Group: req.End.Group}
		} else {
			m.End = wire.Location{Group: req.End.Group, Object: req.End.Object + 1}
		}
	}
	m.Params.SubscriberPriority = req.Priority
	if req.GroupOrder != 0 {
		m.Params.GroupOrder = &req.GroupOrder
	}
	authParams(&m.Params, req.AuthToken)

	f := &FetchStream{s: s, requestID: id, objects: make(chan Object, 64), done: make(chan struct{}), order: wire.GroupOrderAscending}
	if req.GroupOrder != 0 {
		f.order = req.GroupOrder
	}
	s.mu.Lock()
	s.fetches[id] = f
	s.mu.Unlock()
	rs, err := s.openRequest(ctx, m)
	if err != nil {
		s.mu.Lock()
		delete(s.fetches, id)
		s.mu.Unlock()
		return nil, err
	}
	f.mu.Lock()
	f.rs = rs
	f.mu.Unlock()
	resp, err := s.response(ctx, rs)
	if err != nil {
		f.Close()
		return nil, err
	}
	ok, isOK := resp.(*wire.FetchOK)
	if !isOK {
		err := &wire.Error{Code: wire.ErrProtocolViolation, Reason: fmt.Sprintf("FETCH answered with message 0x%x", resp.Type())}
		s.fail(err, "fetch")
		return nil, err
	}
	f.mu.Lock()
	f.ok = ok
	f.okSeen = true
	f.finishLocked()
	f.mu.Unlock()
	return f, nil
}

// readFetchStream reads a FETCH data stream (§11.4.4 {#fetch-header}).
func (s *Session) readFetchStream(str ReceiveStream, r *bufio.Reader, hw *headerWait) {
	hdr, err := wire.ReadFetchHeader(r)
	if err != nil {
		if !hw.timedOut(err) {
			s.fail(err, "fetch header")
		}
		return
	}
	hw.arrived()
	// The data stream can beat FETCH_OK; the FetchStream is registered
	// before the request is sent.
	s.mu.Lock()
	f, ok := s.fetches[hdr.RequestID]
	s.mu.Unlock()
	if !ok {
		str.CancelRead(uint64(wire.ResetCancelled))
		return
	}
	f.mu.Lock()
	if f.started {
		f.mu.Unlock()
		s.fail(&wire.Error{Code: wire.ErrProtocolViolation, Reason: "second data stream for one FETCH"}, "fetch")
		return
	}
	f.started = true
	f.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.fetches, hdr.RequestID)
		s.mu.Unlock()
		f.mu.Lock()
		f.ended = true
		f.finishLocked()
		f.mu.Unlock()
	}()
	defer close(f.objects)
	fr := wire.NewFetchReader(r, f.order, s.lim.Wire)
	for {
		var o wire.FetchObject
		err := fr.Next(&o)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				if _, reset := streamResetCode(err); !reset && s.ctx.Err() == nil {
					s.fail(err, "fetch stream")
				}
				f.mu.Lock()
				f.err = err
				f.mu.Unlock()
			}
			return
		}
		if o.EndOfRange != 0 {
			continue
		}
		obj := Object{Group: o.Group, Subgroup: o.Subgroup, ID: o.ID, Priority: o.Priority,
			Properties: o.Properties, Payload: o.Payload, Datagram: o.Datagram, Received: time.Now()}
		select {
		case f.objects <- obj:
			s.countIn(len(o.Payload))
		case <-s.ctx.Done():
			return
		}
	}
}

// serveFetch answers a FETCH from the track's cache (draft-18 §10.12.3).
func (s *Session) serveFetch(rs *requestStream, m *wire.Fetch) {
	var (
		t          *Track
		start, end wire.Location // end inclusive
		err        error
	)
	switch m.FetchType {
	case wire.FetchStandalone:
		t, err = s.lookupTrack(rs, m.Track, "fetch", &m.Params)
		if err != nil {
			rs.refuse(err)
			return
		}
		start = m.Start
		if m.End.Object == 0 {
			end = wire.Location{Group: m.End.Group, Object: math.MaxUint64}
		} else {
			end = wire.Location{Group: m.End.Group, Object: m.End.Object - 1}
		}
	case wire.FetchRelativeJoining, wire.FetchAbsoluteJoining:
		var j wire.Location
		var forward, ok bool
		t, j, forward, ok = s.joinable(m.JoiningRequestID)
		if !ok {
			rs.refuse(&RequestError{Code: wire.RequestInvalidJoiningRequestID, Reason: "no established subscription with that request ID"})
			return
		}
		if !forward {
			// Only a forwarding subscription can be joined (§10.12.2).
			rs.refuse(&RequestError{Code: wire.RequestInvalidRange, Reason: "the joined subscription has Forward State 0"})
			return
		}
		end = j
		if m.FetchType == wire.FetchRelativeJoining {
			if m.JoiningStart > j.Group {
				start = wire.Location{}
			} else {
				start = wire.Location{Group: j.Group - m.JoiningStart}
			}
		} else {
			start = wire.Location{Group: m.JoiningStart}
		}
	}
	largest, has := t.Largest()
	if !has || largest.Less(start) {
		rs.refuse(&RequestError{Code: wire.RequestInvalidRange, Reason: "no objects in the requested range"})
		return
	}
	if largest.Less(end) {
		end = largest
	}
	order := wire.GroupOrderAscending // FETCH default (§10.2.8)
	if m.Params.GroupOrder != nil {
		order = *m.Params.GroupOrder
	}

	str, err := s.conn.OpenUniStream(s.ctx)
	if err != nil {
		return
	}
	prio := uint8(128)
	if m.Params.SubscriberPriority != nil {
		prio = *m.Params.SubscriberPriority
	}
	str.SetPriority(urgency(prio, t.cfg.Priority))
	ended, _ := t.Closed()
	endLoc := wire.Location{Group: end.Group, Object: end.Object + 1}
	if end.Object == math.MaxUint64 {
		endLoc = wire.Location{Group: end.Group}
	}
	if err := rs.write(&wire.FetchOK{EndOfTrack: ended && !end.Less(largest), End: endLoc, Properties: t.cfg.Properties}); err != nil {
		str.CancelWrite(uint64(wire.ResetCancelled))
		return
	}
	// A cancelled FETCH (STOP_SENDING on the request stream) resets the data stream.
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	go func() {
		for {
			if _, err := rs.read(); err != nil {
				cancel()
				return
			}
		}
	}()
	buf := (&wire.FetchHeader{RequestID: m.RequestID}).Append(nil)
	fw := wire.NewFetchWriter(order)
	ids := t.CachedGroups()
	if order == wire.GroupOrderDescending {
		for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
			ids[i], ids[j] = ids[j], ids[i]
		}
	}
	for _, g := range ids {
		if g < start.Group || g > end.Group {
			continue
		}
		from, to := uint64(0), uint64(math.MaxUint64)
		if g == start.Group {
			from = start.Object
		}
		if g == end.Group {
			to = end.Object
		}
		objs, release := t.lendCachedObjects(g, from, to)
		sent := serveFetchObjects(ctx, s, str, fw, &buf, objs)
		release()
		if !sent {
			return
		}
	}
	if len(buf) > 0 {
		if _, err := str.Write(buf); err != nil {
			return
		}
	}
	str.Close()
	rs.str.Close()
}

// serveFetchObjects writes objs on a fetch stream, encoding into *buf; false
// when the stream was reset or failed.
func serveFetchObjects(ctx context.Context, s *Session, str SendStream, fw *wire.FetchWriter, buf *[]byte, objs []Object) bool {
	for i := range objs {
		o := &objs[i]
		if o.Status != wire.StatusNormal {
			continue
		}
		b, err := fw.AppendObject(*buf, &wire.FetchObject{Group: o.Group, Subgroup: o.Subgroup, ID: o.ID,
			Priority: o.Priority, Properties: o.Properties, Payload: o.Payload, Datagram: o.Datagram})
		*buf = b
		if err != nil {
			str.CancelWrite(uint64(wire.ResetInternalError))
			return false
		}
		if ctx.Err() != nil {
			str.CancelWrite(uint64(wire.ResetCancelled))
			return false
		}
		if _, err := str.Write(b); err != nil {
			return false
		}
		*buf = b[:0]
		s.countOut(len(o.Payload))
	}
	return true
}
