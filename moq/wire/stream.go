package wire

import (
	"errors"
	"fmt"
	"io"
)

// Unidirectional stream types, draft-ietf-moq-transport-18 §3.4 {#stream-types}
// (same in draft-19), and the padding datagram type (§11.5.2).
const (
	// StreamTypeFetch opens a fetch data stream (FETCH_HEADER, §11.4.4).
	StreamTypeFetch uint64 = 0x05
	// StreamTypeSetup opens a control stream: it is the SETUP message type.
	StreamTypeSetup uint64 = MsgSetup
	// StreamTypePadding opens a padding stream of zero bytes (§11.5.1).
	StreamTypePadding uint64 = 0x132B3E28
	// DatagramTypePadding marks a padding datagram (§11.5.2).
	DatagramTypePadding uint64 = 0x132B3E29
)

// Reader is what the data-stream decoders read from: a bufio.Reader or a
// bytes.Reader satisfies it.
type Reader interface {
	io.Reader
	io.ByteReader
}

// ReadStreamType reads the stream type varint that begins every
// unidirectional stream (§3.4). It returns io.EOF for an empty stream and
// a PROTOCOL_VIOLATION *Error for a truncated varint. The caller closes the
// session on unknown types; see IsSubgroupStreamType.
func ReadStreamType(r io.ByteReader) (uint64, error) {
	t, err := ReadVarint(r)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, readErr(err, "stream type")
	}
	return t, err
}

// KnownStreamType reports whether t is a stream type of drafts 18/19.
func KnownStreamType(t uint64) bool {
	return t == StreamTypeFetch || t == StreamTypeSetup || t == StreamTypePadding || IsSubgroupStreamType(t)
}

// AppendPadding appends n zero bytes of padding (after the padding stream or
// datagram type, §11.5).
func AppendPadding(b []byte, n int) []byte {
	for i := 0; i < n; i++ {
		b = append(b, 0)
	}
	return b
}

// AppendPaddingDatagram appends a padding datagram of n zero bytes after its type.
func AppendPaddingDatagram(b []byte, n int) []byte {
	return AppendPadding(AppendVarint(b, DatagramTypePadding), n)
}

// ObjectStatus is the Object Status, draft-ietf-moq-transport-18 §11.2.1.1
// {#object-status} (draft-19 adds the registry of §15, same values).
type ObjectStatus uint64

// Object status values.
const (
	StatusNormal     ObjectStatus = 0x0
	StatusEndOfGroup ObjectStatus = 0x3
	StatusEndOfTrack ObjectStatus = 0x4
)

// String returns the status name.
func (s ObjectStatus) String() string {
	switch s {
	case StatusNormal:
		return "Normal"
	case StatusEndOfGroup:
		return "EndOfGroup"
	case StatusEndOfTrack:
		return "EndOfTrack"
	}
	return fmt.Sprintf("Status(0x%x)", uint64(s))
}

// valid reports whether s is a defined status; others are a PROTOCOL_VIOLATION.
func (s ObjectStatus) valid() bool {
	return s == StatusNormal || s == StatusEndOfGroup || s == StatusEndOfTrack
}

// Object is one Object on a subgroup stream (§11.2, §11.4.2): its ID,
// Object Properties (§11.2.1.2), Status and Payload. A non-Normal object has
// no payload and no properties.
type Object struct {
	ID         uint64
	Properties Properties
	Status     ObjectStatus
	Payload    []byte
}

// checkObject validates the status/payload/properties combination for encoding.
func checkObject(st ObjectStatus, props Properties, payload []byte) error {
	if !st.valid() {
		return fmt.Errorf("moq: invalid object status %d", st)
	}
	if st != StatusNormal && (len(payload) > 0 || len(props) > 0) {
		return errors.New("moq: object with non-Normal status has a payload or properties")
	}
	if !props.Sorted() {
		return errors.New("moq: object properties not sorted by type")
	}
	return nil
}

// readBytes reads a varint length bounded by max and that many bytes into a
// new slice. what names the field and limit the Limits field.
func readBytes(r Reader, what, limit string, max int) ([]byte, error) {
	n, err := ReadVarint(r)
	if err != nil {
		return nil, readErr(err, what+" length")
	}
	if n > uint64(max) {
		return nil, limitExceeded(limit, n, max)
	}
	if n == 0 {
		return nil, nil
	}
	p, err := readN(r, int(n))
	if err != nil {
		return nil, readErr(err, what)
	}
	return p, nil
}

// eagerAlloc is the size up to which readN allocates the whole field at once;
// larger fields grow as their bytes arrive, so a peer that announces a large
// object and sends nothing costs no more than this.
const eagerAlloc = 64 << 10

// readN reads exactly n bytes into a new slice.
func readN(r io.Reader, n int) ([]byte, error) {
	if n <= eagerAlloc {
		p := make([]byte, n)
		_, err := io.ReadFull(r, p)
		return p, err
	}
	p := make([]byte, 0, eagerAlloc)
	for len(p) < n {
		if len(p) == cap(p) {
			c := 2 * cap(p)
			if c > n {
				c = n
			}
			q := make([]byte, len(p), c)
			copy(q, p)
			p = q
		}
		m, err := r.Read(p[len(p):cap(p)])
		p = p[:len(p)+m]
		if err != nil {
			if errors.Is(err, io.EOF) && len(p) < n {
				return nil, io.ErrUnexpectedEOF
			}
			if len(p) < n {
				return nil, err
			}
		}
	}
	return p, nil
}

// readProperties reads an Object Properties structure (length + pairs).
func readProperties(r Reader, lim *Limits) (Properties, error) {
	raw, err := readBytes(r, "object properties", "MaxPropertiesLength", lim.propertiesLength())
	if err != nil || len(raw) == 0 {
		return nil, err
	}
	return ParseProperties(raw)
}

// appendObjectProperties appends Properties Length and the pairs.
func appendObjectProperties(b []byte, p Properties) ([]byte, error) {
	b = AppendVarint(b, uint64(p.Len()))
	return p.Append(b)
}

// readVarintField reads a varint inside a data stream object: EOF there is a
// truncation (PROTOCOL_VIOLATION).
func readVarintField(r io.ByteReader, what string) (uint64, error) {
	v, err := ReadVarint(r)
	if err != nil {
		return 0, readErr(err, what)
	}
	return v, nil
}
