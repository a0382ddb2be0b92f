package moq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"testing"

	"github.com/tributary-live/tributary/moq/wire"
)

func TestPayloadClass(t *testing.T) {
	prevClass, prevSize := -1, 0
	for n := minPooledPayload; n <= maxPooledPayload; n++ {
		class, size := payloadClass(n)
		if class < 0 || class >= numClasses {
			t.Fatalf("payloadClass(%d) = class %d, want [0, %d)", n, class, numClasses)
		}
		if size < n || (n > minPooledPayload && size*classSteps > n*(classSteps+1)) {
			t.Fatalf("payloadClass(%d) = size %d: too small or wastes over 1/%d", n, size, classSteps)
		}
		switch {
		case class == prevClass && size != prevSize:
			t.Fatalf("class %d has sizes %d and %d", class, prevSize, size)
		case class < prevClass || (class > prevClass && size <= prevSize):
			t.Fatalf("payloadClass(%d) = (%d, %d) after (%d, %d)", n, class, size, prevClass, prevSize)
		}
		prevClass, prevSize = class, size
	}
	if getPayloadBuf(minPooledPayload-1) != nil || getPayloadBuf(maxPooledPayload+1) != nil {
		t.Fatal("sizes outside the pooled range got a pooled buffer")
	}
}

// poolPattern is the payload of object o of group g in the pool tests.
func poolPattern(g, o uint64) []byte {
	return bytes.Repeat([]byte{byte(g*7 + o + 1)}, 2000+int(g*131+o*17)%6000)
}

// writePooled writes group g as the subscriber side does: each payload read
// into a pooled buffer, the stream's reference dropped after Write.
func writePooled(t *testing.T, w *TrackWriter, g uint64, objects int) {
	t.Helper()
	gw, err := w.CreateGroup(g)
	if err != nil {
		t.Fatal(err)
	}
	var alloc payloadAlloc
	defer alloc.close()
	for o := uint64(0); o < uint64(objects); o++ {
		want := poolPattern(g, o)
		p := alloc.Alloc(len(want))
		copy(p, want)
		obj := Object{ID: o, Payload: p, buf: alloc.take()}
		err := gw.Write(obj)
		obj.buf.release()
		if err != nil {
			t.Fatal(err)
		}
	}
	gw.Close()
}

func checkPattern(t *testing.T, what string, g uint64, objs []Object) {
	t.Helper()
	for _, o := range objs {
		if !bytes.Equal(o.Payload, poolPattern(g, o.ID)) {
			t.Fatalf("%s: group %d object %d was overwritten", what, g, o.ID)
		}
	}
}

func readAll(t *testing.T, g *GroupReader, borrow bool) []Object {
	t.Helper()
	var out []Object
	for {
		read := g.ReadObject
		if borrow {
			read = g.ReadObjectBorrowed
		}
		o, err := read(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
}

// TestPooledPayloadLifetimes checks the three rules of payload.go: a payload
// from ReadObject is never reused, a borrowed one not before Close, and
// buffers nobody holds are reused.
func TestPooledPayloadLifetimes(t *testing.T) {
	// A collection empties the pools; the count of buffers made below
	// is about this test's buffers only without one.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	over := payloadOverReleased.Load()
	tr, w := NewTrack(testName("pool"), &TrackConfig{MaxGroups: 2})
	rd := tr.Reader(&ReaderOptions{Start: new(uint64)})
	defer rd.Close()

	writePooled(t, w, 0, 10)
	g0, err := rd.NextGroup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kept := readAll(t, g0, false) // ReadObject: the caller's for good
	writePooled(t, w, 1, 10)
	g1, err := rd.NextGroup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lent := readAll(t, g1, true) // borrowed, GroupReader left open

	// Many more groups through the same pools: group 0 and 1 leave the
	// cache, and every buffer released is reused.
	made := payloadNew.Load()
	const more = 200
	for g := uint64(2); g < 2+more; g++ {
		writePooled(t, w, g, 10)
		gr, err := rd.NextGroup(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		objs := readAll(t, gr, true)
		checkPattern(t, "borrowed, before Close", g, objs)
		gr.Close()
	}
	checkPattern(t, "ReadObject after eviction", 0, kept)
	checkPattern(t, "borrowed, reader still open", 1, lent)
	g1.Close()
	if _, err := g1.ReadObjectBorrowed(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("read after the end and Close: %v, want io.EOF", err)
	}
	// Under -race a pool drops a quarter of what is put in it; without,
	// nearly every buffer is reused.
	if n := payloadNew.Load() - made; n > more*10/2 {
		t.Errorf("%d buffers made for %d objects: released buffers are not reused", n, more*10)
	}
	if n := payloadOverReleased.Load() - over; n != 0 {
		t.Fatalf("%d payload references dropped twice", n)
	}
}

// TestPooledPayloadsOverSession sends payloads of pooled sizes through a
// session while one reader keeps what it reads and another borrows: every
// byte must arrive as sent, with buffers being reused underneath.
func TestPooledPayloadsOverSession(t *testing.T) {
	over := payloadOverReleased.Load()
	env := newTestEnv(t, nil)
	tr, w := NewTrack(testName("pooled"), &TrackConfig{MaxGroups: 2})
	env.origin.add(tr)
	sess := env.dial("quic", wire.Draft19, nil)
	sub, err := sess.Subscribe(env.ctx, testName("pooled"), &SubscribeOptions{
		Filter: &wire.SubscriptionFilter{Type: wire.FilterNextGroupStart}, Track: &TrackConfig{MaxGroups: 2}})
	if err != nil {
		t.Fatal(err)
	}
	const groups, objects = 60, 8
	keep := sub.Track().Reader(&ReaderOptions{Start: new(uint64)})
	defer keep.Close()
	lend := sub.Track().Reader(&ReaderOptions{Start: new(uint64)})
	defer lend.Close()
	type result struct {
		objs map[uint64][]Object
		err  error
	}
	// Readers may fall behind the two cached groups and skip some: every
	// object they do get must be whole.
	read := func(r *TrackReader, borrow bool, out chan<- result) {
		res := result{objs: make(map[uint64][]Object)}
		defer func() { out <- res }()
		for {
			g, err := r.NextGroup(env.ctx)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				res.err = err
				return
			}
			for {
				var o Object
				if borrow {
					o, err = g.ReadObjectBorrowed(env.ctx)
				} else {
					o, err = g.ReadObject(env.ctx)
				}
				if errors.Is(err, io.EOF) || errors.Is(err, ErrGroupIncomplete) {
					break // a group the publisher dropped (this writer does not wait)
				}
				if err != nil {
					res.err = fmt.Errorf("group %d: %w", g.ID(), err)
					return
				}
				if !bytes.Equal(o.Payload, poolPattern(o.Group, o.ID)) {
					res.err = fmt.Errorf("group %d object %d arrived wrong", o.Group, o.ID)
					return
				}
				if !borrow {
					res.objs[o.Group] = append(res.objs[o.Group], o)
				}
			}
			g.Close()
		}
	}
	kept, lent := make(chan result, 1), make(chan result, 1)
	go read(keep, false, kept)
	go read(lend, true, lent)
	for g := uint64(0); g < groups; g++ {
		gw, err := w.CreateGroup(g)
		if err != nil {
			t.Fatal(err)
		}
		for o := uint64(0); o < objects; o++ {
			if err := gw.WriteObject(poolPattern(g, o), nil); err != nil {
				t.Fatal(err)
			}
		}
		gw.Close()
	}
	w.Close(nil)
	res := <-kept
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res := <-lent; res.err != nil {
		t.Fatal(res.err)
	}
	// What ReadObject returned is still intact after every later group
	// went through the pools.
	n := 0
	for g, objs := range res.objs {
		checkPattern(t, "kept over the session", g, objs)
		n += len(objs)
	}
	if n == 0 {
		t.Fatal("no object arrived")
	}
	if n := payloadOverReleased.Load() - over; n != 0 {
		t.Fatalf("%d payload references dropped twice", n)
	}
}

// TestLentCachedObjectsOutliveEviction: objects lent from the cache to a
// FETCH being served keep their buffers until released, even when their
// group is evicted and released in between.
func TestLentCachedObjectsOutliveEviction(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	over := payloadOverReleased.Load()
	tr, w := NewTrack(testName("lend"), &TrackConfig{MaxGroups: 1})
	writePooled(t, w, 0, 10)
	objs, release := tr.lendCachedObjects(0, 2, 7)
	if len(objs) != 6 {
		t.Fatalf("lent %d objects, want 6", len(objs))
	}
	for g := uint64(1); g <= 50; g++ {
		writePooled(t, w, g, 10) // group 0 leaves the cache; its buffers go back unless held
	}
	checkPattern(t, "lent, before release", 0, objs)
	release()
	if n := payloadOverReleased.Load() - over; n != 0 {
		t.Fatalf("%d payload references dropped twice", n)
	}
	if objs, release := tr.lendCachedObjects(0, 0, 9); objs != nil {
		release()
		t.Fatal("an evicted group was lent")
	}
}
