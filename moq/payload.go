package moq

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Pooled payload buffers.
//
// A subscriber reads every object's payload into a buffer of its own, and
// at video rates that allocation drives the garbage collector: a session
// receiving 400 MB/s with a few MB of live cache ran a collection every
// ~600 objects (docs/BENCHMARKS.md). Payloads read from subgroup streams
// therefore come from pools of size-classed buffers, counted by reference:
//
//   - the stream reading the object holds one reference until it has
//     written the object into its track;
//   - every group an object is written into holds one, dropped when the
//     group is released: it has left the cache, its end is known, and no
//     GroupReader still holds it;
//   - ReadObject hands the payload to its caller for good: the buffer is
//     marked escaped and is left to the garbage collector, never reused.
//     ReadObjectBorrowed lends it until the GroupReader is closed instead.
//
// A reference that is never dropped (a GroupReader never closed) only
// leaves its buffer to the garbage collector; a buffer is reused only when
// every reference was dropped and it never escaped.

// payloadBuf is one pooled payload buffer.
type payloadBuf struct {
	b       []byte
	class   int
	refs    atomic.Int32
	escaped atomic.Bool
}

const (
	// minPooledPayload is the smallest payload read into a pooled buffer:
	// smaller ones (audio frames, deltas) cost the allocator little.
	minPooledPayload = 1 << 10
	// maxPooledPayload is the largest: the wire reader allocates larger
	// payloads as their bytes arrive (moq/wire eagerAlloc).
	maxPooledPayload = 64 << 10
	// classSteps is the number of size classes per power of two: a
	// payload wastes at most 1/classSteps of its buffer.
	classSteps     = 4
	classStepShift = 2 // log2(classSteps)
	minClassLog    = 10
	maxClassLog    = 16
	numClasses     = (maxClassLog-minClassLog)*classSteps + 1
)

var payloadPools [numClasses]sync.Pool

// payloadClass returns the size class of an n-byte payload
// (minPooledPayload <= n <= maxPooledPayload) and the class's buffer size.
func payloadClass(n int) (int, int) {
	// Classes: 1024, 1280, 1536, 1792, 2048, 2560, ... 65536.
	e := bits.Len(uint(n-1)) - 1 // n-1 in [2^e, 2^(e+1))
	if e < minClassLog {
		return 0, minPooledPayload
	}
	step := 1 << (e - classStepShift)
	k := ((n - 1) >> (e - classStepShift)) & (classSteps - 1) // quarter of n-1 above 2^e
	size := 1<<e + (k+1)*step
	class := (e-minClassLog)*classSteps + k + 1
	return class, size
}

// getPayloadBuf returns a buffer for an n-byte payload holding one
// reference, or nil when n is outside the pooled sizes.
func getPayloadBuf(n int) *payloadBuf {
	if n < minPooledPayload || n > maxPooledPayload {
		return nil
	}
	class, size := payloadClass(n)
	p, _ := payloadPools[class].Get().(*payloadBuf)
	if p == nil {
		p = &payloadBuf{b: make([]byte, size), class: class}
		payloadNew.Add(1)
	}
	p.refs.Store(1)
	p.escaped.Store(false)
	return p
}

// hold adds a reference.
func (p *payloadBuf) hold() {
	if p != nil {
		p.refs.Add(1)
	}
}

// release drops a reference; the last one returns the buffer to its pool
// unless it escaped.
func (p *payloadBuf) release() {
	if p == nil {
		return
	}
	switch n := p.refs.Add(-1); {
	case n == 0 && !p.escaped.Load():
		payloadPools[p.class].Put(p)
	case n < 0:
		// A bug: the buffer may have been reused already. Tests check
		// that this never happens.
		payloadOverReleased.Add(1)
	}
}

var (
	// payloadNew counts the buffers made because their pool was empty.
	payloadNew atomic.Int64
	// payloadOverReleased counts references dropped more often than taken.
	payloadOverReleased atomic.Int64
)

// escape marks the buffer as handed out for good: it is never reused.
func (p *payloadBuf) escape() {
	if p != nil && !p.escaped.Load() {
		p.escaped.Store(true)
	}
}

// payloadAlloc reads one stream's payloads into pooled buffers: Alloc is
// wire.SubgroupReader's allocation hook, take hands over the buffer of the
// payload read last.
type payloadAlloc struct {
	last *payloadBuf
}

// Alloc returns a buffer for an n-byte payload.
func (a *payloadAlloc) Alloc(n int) []byte {
	a.last.release() // a payload whose read failed
	a.last = getPayloadBuf(n)
	if a.last == nil {
		return make([]byte, n)
	}
	return a.last.b[:n]
}

// take returns the buffer of the payload read last (nil if it was not
// pooled), with the reference the reading stream holds.
func (a *payloadAlloc) take() *payloadBuf {
	p := a.last
	a.last = nil
	return p
}

// close drops a buffer not taken.
func (a *payloadAlloc) close() {
	a.last.release()
	a.last = nil
}
