package wire

import (
	"errors"
	"fmt"
	"io"
)

// Control message types, draft-ietf-moq-transport-18 §10 {#message} (table of Message Types).
const (
	MsgRequestUpdate      uint64 = 0x2
	MsgSubscribe          uint64 = 0x3
	MsgSubscribeOK        uint64 = 0x4
	MsgRequestError       uint64 = 0x5
	MsgPublishNamespace   uint64 = 0x6
	MsgRequestOK          uint64 = 0x7
	MsgNamespace          uint64 = 0x8
	MsgPublishDone        uint64 = 0xB
	MsgTrackStatus        uint64 = 0xD
	MsgNamespaceDone      uint64 = 0xE
	MsgPublishBlocked     uint64 = 0xF // draft-18 PUBLISH_BLOCKED; draft-19 PUBLISH_SKIPPED
	MsgGoAway             uint64 = 0x10
	MsgFetch              uint64 = 0x16
	MsgFetchOK            uint64 = 0x18
	MsgPublish            uint64 = 0x1D
	MsgSubscribeNamespace uint64 = 0x50
	MsgSubscribeTracks    uint64 = 0x51
	MsgSetup              uint64 = 0x2F00
)

// MsgPublishSkipped is the draft-19 name of MsgPublishBlocked.
const MsgPublishSkipped = MsgPublishBlocked

// Message is a control message. The concrete types are the structs of this
// package (*Setup, *Subscribe, ...); AppendMessage rejects any other.
type Message interface {
	// Type returns the Message Type code.
	Type() uint64
}

// codec is implemented by every message struct of this package.
type codec interface {
	Message
	appendBody(b []byte, v Version) ([]byte, error)
	decodeBody(d *decoder, v Version)
}

// newMessage returns an empty message for a type code, or nil if unknown.
func newMessage(t uint64) codec {
	switch t {
	case MsgSetup:
		return &Setup{}
	case MsgGoAway:
		return &GoAway{}
	case MsgSubscribe:
		return &Subscribe{}
	case MsgSubscribeOK:
		return &SubscribeOK{}
	case MsgRequestUpdate:
		return &RequestUpdate{}
	case MsgPublish:
		return &Publish{}
	case MsgPublishDone:
		return &PublishDone{}
	case MsgFetch:
		return &Fetch{}
	case MsgFetchOK:
		return &FetchOK{}
	case MsgTrackStatus:
		return &TrackStatus{}
	case MsgRequestOK:
		return &RequestOK{}
	case MsgRequestError:
		return &RequestError{}
	case MsgPublishNamespace:
		return &PublishNamespace{}
	case MsgNamespace:
		return &NamespaceMsg{}
	case MsgNamespaceDone:
		return &NamespaceDone{}
	case MsgSubscribeNamespace:
		return &SubscribeNamespace{}
	case MsgSubscribeTracks:
		return &SubscribeTracks{}
	case MsgPublishBlocked:
		return &PublishSkipped{}
	}
	return nil
}

// IsRequest reports whether a message type may open a bidirectional request
// stream (§3.3 {#session-init}).
func IsRequest(t uint64) bool {
	switch t {
	case MsgTrackStatus, MsgSubscribe, MsgPublish, MsgFetch, MsgPublishNamespace,
		MsgSubscribeNamespace, MsgSubscribeTracks:
		return true
	}
	return false
}

// AppendMessage appends one framed control message to b: Message Type (vi64),
// Message Length (16), body (§10 {#moq-transport-message-format}). It
// allocates nothing when b has room.
func AppendMessage(b []byte, v Version, m Message) ([]byte, error) {
	if !v.supported() {
		return b, fmt.Errorf("moq: unsupported version %d", uint64(v))
	}
	c, ok := m.(codec)
	if !ok || c == nil {
		return b, fmt.Errorf("moq: cannot encode message %T", m)
	}
	start := len(b)
	b = AppendVarint(b, c.Type())
	lenAt := len(b)
	b = append(b, 0, 0)
	b, err := c.appendBody(b, v)
	if err != nil {
		return b[:start], fmt.Errorf("moq: encode message 0x%x: %w", c.Type(), err)
	}
	n := len(b) - lenAt - 2
	if n > maxMessageLength {
		return b[:start], fmt.Errorf("moq: message 0x%x body of %d bytes exceeds 65535", c.Type(), n)
	}
	b[lenAt] = byte(n >> 8)
	b[lenAt+1] = byte(n)
	return b, nil
}

// ReadMessage reads exactly one framed control message from r. It returns
// io.EOF if r ends before the first byte. Malformed input (unknown type,
// length over the limit, truncation, trailing bytes, bad fields) returns an
// *Error with the code the draft requires, usually PROTOCOL_VIOLATION. Other
// read errors are returned wrapped. Byte fields of the result alias a buffer
// owned by the message.
func ReadMessage(r io.Reader, v Version, lim *Limits) (Message, error) {
	typ, err := readVarintFrom(r)
	if err != nil {
		return nil, err
	}
	return ReadMessageBody(r, v, typ, lim)
}

// ReadMessageBody reads Message Length and the body of a message whose type
// was already read (e.g. SETUP, whose type doubles as the control stream type).
func ReadMessageBody(r io.Reader, v Version, typ uint64, lim *Limits) (Message, error) {
	lim = lim.orDefault()
	c := newMessage(typ)
	if c == nil {
		return nil, protocolViolation("unknown message type 0x%x", typ)
	}
	var lb [2]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return nil, readErr(err, "message length")
	}
	n := int(lb[0])<<8 | int(lb[1])
	if max := lim.messageLength(); n > max {
		return nil, limitExceeded("MaxMessageLength", uint64(n), max)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, readErr(err, "message body")
	}
	if err := decodeBody(c, body, v, lim, false); err != nil {
		if lim.Quirks&QuirkVarintUint8 != 0 {
			if c2 := newMessage(typ); decodeBody(c2, body, v, lim, true) == nil {
				return c2, nil
			}
		}
		return nil, err
	}
	return c, nil
}

// ParseMessage decodes one framed control message at the start of b and
// returns it with the number of bytes used. Byte fields alias b.
func ParseMessage(b []byte, v Version, lim *Limits) (Message, int, error) {
	lim = lim.orDefault()
	typ, tn, err := ParseVarint(b)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, io.EOF
		}
		return nil, 0, truncated("message type")
	}
	c := newMessage(typ)
	if c == nil {
		return nil, 0, protocolViolation("unknown message type 0x%x", typ)
	}
	if len(b) < tn+2 {
		return nil, 0, truncated("message length")
	}
	n := int(b[tn])<<8 | int(b[tn+1])
	if max := lim.messageLength(); n > max {
		return nil, 0, limitExceeded("MaxMessageLength", uint64(n), max)
	}
	end := tn + 2 + n
	if len(b) < end {
		return nil, 0, truncated("message body")
	}
	if err := decodeBody(c, b[tn+2:end:end], v, lim, false); err != nil {
		if lim.Quirks&QuirkVarintUint8 != 0 {
			if c2 := newMessage(typ); decodeBody(c2, b[tn+2:end:end], v, lim, true) == nil {
				return c2, end, nil
			}
		}
		return nil, 0, err
	}
	return c, end, nil
}

// decodeBody decodes a message body, requiring it to be consumed exactly.
func decodeBody(c codec, body []byte, v Version, lim *Limits, varintU8 bool) error {
	if !v.supported() {
		return fmt.Errorf("moq: unsupported version %d", uint64(v))
	}
	d := decoder{b: body, lim: lim, varintU8: varintU8}
	c.decodeBody(&d, v)
	if d.err != nil {
		return d.err
	}
	if !d.empty() {
		return protocolViolation("message 0x%x: %d bytes beyond its fields", c.Type(), len(d.b))
	}
	return nil
}

// readErr maps a read failure inside a message to a protocol error when the
// stream ended (FIN mid-message), and wraps other errors.
func readErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return truncated(what)
	}
	return fmt.Errorf("moq: read %s: %w", what, err)
}

// readVarintFrom reads a varint from an io.Reader, using ReadByte when available.
// io.EOF before the first byte is returned as is.
func readVarintFrom(r io.Reader) (uint64, error) {
	if br, ok := r.(io.ByteReader); ok {
		v, err := ReadVarint(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, readErr(err, "varint")
		}
		return v, err
	}
	var buf [MaxVarintLen]byte
	if _, err := io.ReadFull(r, buf[:1]); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		return 0, readErr(err, "varint")
	}
	n := varintLenFromFirst(buf[0])
	if n > 1 {
		if _, err := io.ReadFull(r, buf[1:n]); err != nil {
			return 0, readErr(err, "varint")
		}
	}
	v, _, _ := ParseVarint(buf[:n])
	return v, nil
}

// MessageName returns the draft's name of a message type, e.g. "SUBSCRIBE".
func MessageName(v Version, t uint64) string {
	switch t {
	case MsgSetup:
		return "SETUP"
	case MsgGoAway:
		return "GOAWAY"
	case MsgSubscribe:
		return "SUBSCRIBE"
	case MsgSubscribeOK:
		return "SUBSCRIBE_OK"
	case MsgRequestUpdate:
		return "REQUEST_UPDATE"
	case MsgPublish:
		return "PUBLISH"
	case MsgPublishDone:
		return "PUBLISH_DONE"
	case MsgFetch:
		return "FETCH"
	case MsgFetchOK:
		return "FETCH_OK"
	case MsgTrackStatus:
		return "TRACK_STATUS"
	case MsgRequestOK:
		return "REQUEST_OK"
	case MsgRequestError:
		return "REQUEST_ERROR"
	case MsgPublishNamespace:
		return "PUBLISH_NAMESPACE"
	case MsgNamespace:
		return "NAMESPACE"
	case MsgNamespaceDone:
		return "NAMESPACE_DONE"
	case MsgSubscribeNamespace:
		return "SUBSCRIBE_NAMESPACE"
	case MsgSubscribeTracks:
		return "SUBSCRIBE_TRACKS"
	case MsgPublishBlocked:
		if v == Draft18 {
			return "PUBLISH_BLOCKED"
		}
		return "PUBLISH_SKIPPED"
	}
	return fmt.Sprintf("MESSAGE_0x%x", t)
}
