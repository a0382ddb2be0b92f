package wire

import "errors"

// GoAway is GOAWAY, draft-ietf-moq-transport-18 §10.4 {#message-goaway}:
// New Session URI, Timeout and, in draft-18 on the control stream only, a
// Request ID. Draft-19 removed the Request ID.
type GoAway struct {
	// NewSessionURI is where to reconnect; empty reuses the current URI.
	NewSessionURI string
	// Timeout is the time in milliseconds the sender waits for graceful closure.
	Timeout uint64
	// HasRequestID marks the draft-18 Request ID as present (control stream only).
	HasRequestID bool
	// RequestID is the smallest peer Request ID not (or maybe not) processed (draft-18).
	RequestID uint64
}

// Type returns MsgGoAway.
func (*GoAway) Type() uint64 { return MsgGoAway }

func (m *GoAway) appendBody(b []byte, v Version) ([]byte, error) {
	if len(m.NewSessionURI) > maxURILength {
		return b, errors.New("new session URI longer than 8192 bytes")
	}
	b = appendLenString(b, m.NewSessionURI)
	b = AppendVarint(b, m.Timeout)
	if m.HasRequestID {
		if v >= Draft19 {
			return b, errors.New("GOAWAY has no Request ID in draft-19")
		}
		b = AppendVarint(b, m.RequestID)
	}
	return b, nil
}

func (m *GoAway) decodeBody(d *decoder, v Version) {
	m.NewSessionURI = d.uri("new session URI")
	m.Timeout = d.varint("timeout")
	if v == Draft18 && d.err == nil && !d.empty() {
		m.HasRequestID = true
		m.RequestID = d.varint("request ID")
	}
}
