package hang

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
)

// Limits of a compressed group (draft-lcurley-moq-hang, Section 6).
const (
	// MaxCompressedGroup bounds the compressed bytes of one group.
	MaxCompressedGroup = 1 << 20
	// MaxInflatedGroup bounds the decompressed bytes of one group.
	MaxInflatedGroup = 4 << 20
	// MaxCompressedFrames bounds the frames of one group (each one
	// re-inflates the group so far).
	MaxCompressedFrames = 256
)

// syncMarker ends every sync-flushed DEFLATE frame; publishers leave it out
// and consumers put it back (Section 6, as in RFC 7692 Section 7.2.1).
var syncMarker = []byte{0x00, 0x00, 0xff, 0xff}

// Inflater decompresses the frames of one group of a compressed track, such
// as catalog.json.z (Section 6): each group is one raw DEFLATE stream,
// sync-flushed at every frame, so frames must be fed in order from the first.
// Use a new Inflater for each group.
type Inflater struct {
	in     []byte
	outLen int
	frames int
}

// Frame returns the decompressed bytes of the next frame of the group.
func (z *Inflater) Frame(frame []byte) ([]byte, error) {
	if z.frames >= MaxCompressedFrames {
		return nil, fmt.Errorf("%w: more than %d frames in a compressed group", ErrTooLarge, MaxCompressedFrames)
	}
	if len(z.in)+len(frame)+len(syncMarker) > MaxCompressedGroup {
		return nil, fmt.Errorf("%w: compressed group above %d bytes", ErrTooLarge, MaxCompressedGroup)
	}
	in := append(append(append([]byte(nil), z.in...), frame...), syncMarker...)
	// The group so far is re-inflated each time: groups hold few, small frames.
	r := flate.NewReader(bytes.NewReader(in))
	out, err := io.ReadAll(io.LimitReader(r, MaxInflatedGroup+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%w: deflate: %w", ErrMalformed, err)
	}
	if len(out) > MaxInflatedGroup {
		return nil, fmt.Errorf("%w: group inflates above %d bytes", ErrTooLarge, MaxInflatedGroup)
	}
	if len(out) < z.outLen {
		return nil, fmt.Errorf("%w: deflate stream shrank", ErrMalformed)
	}
	z.in = in
	z.frames++
	res := out[z.outLen:]
	z.outLen = len(out)
	return res, nil
}

// Deflater compresses the frames of one group the way Inflater reads them.
type Deflater struct {
	buf bytes.Buffer
	w   *flate.Writer
}

// Frame compresses the next frame of the group, sync-flushed, without the
// trailing empty-block marker.
func (z *Deflater) Frame(b []byte) ([]byte, error) {
	if z.w == nil {
		w, err := flate.NewWriter(&z.buf, flate.DefaultCompression)
		if err != nil {
			return nil, err
		}
		z.w = w
	}
	z.buf.Reset()
	if _, err := z.w.Write(b); err != nil {
		return nil, err
	}
	if err := z.w.Flush(); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(z.buf.Bytes(), syncMarker)
	return append([]byte(nil), out...), nil
}
