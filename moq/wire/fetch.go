package wire

import "fmt"

// FetchType selects the Fetch variant, draft-ietf-moq-transport-18 §10.12 {#message-fetch}.
type FetchType uint64

// Fetch types.
const (
	FetchStandalone      FetchType = 0x1
	FetchRelativeJoining FetchType = 0x2
	FetchAbsoluteJoining FetchType = 0x3
)

// Fetch is FETCH, draft-ietf-moq-transport-18 §10.12 {#message-fetch}
// (same in draft-19): Request ID, Fetch Type, then a Standalone Fetch
// (§10.12.1: Track, Start, End) or a Joining Fetch (§10.12.2: Joining
// Request ID, Joining Start), then Parameters.
type Fetch struct {
	RequestID uint64
	FetchType FetchType
	// Standalone fields.
	Track FullTrackName
	Start Location
	// End is the end Location plus one object; End.Object 0 means the whole group.
	End Location
	// Joining fields.
	JoiningRequestID uint64
	// JoiningStart is groups before the live edge (relative) or a group ID (absolute).
	JoiningStart uint64
	Params       Params
}

// Type returns MsgFetch.
func (*Fetch) Type() uint64 { return MsgFetch }

func (m *Fetch) appendBody(b []byte, v Version) ([]byte, error) {
	b = AppendVarint(b, m.RequestID)
	b = AppendVarint(b, uint64(m.FetchType))
	switch m.FetchType {
	case FetchStandalone:
		if err := checkFullTrackName(&m.Track); err != nil {
			return b, err
		}
		b = appendFullTrackName(b, &m.Track)
		b = appendLocation(b, m.Start)
		b = appendLocation(b, m.End)
	case FetchRelativeJoining, FetchAbsoluteJoining:
		b = AppendVarint(b, m.JoiningRequestID)
		b = AppendVarint(b, m.JoiningStart)
	default:
		return b, fmt.Errorf("invalid fetch type %d", m.FetchType)
	}
	return appendParams(b, v, MsgFetch, &m.Params)
}

func (m *Fetch) decodeBody(d *decoder, v Version) {
	m.RequestID = d.varint("request ID")
	m.FetchType = FetchType(d.varint("fetch type"))
	if d.err != nil {
		return
	}
	switch m.FetchType {
	case FetchStandalone:
		m.Track = d.fullTrackName()
		m.Start = d.location("start")
		m.End = d.location("end")
	case FetchRelativeJoining, FetchAbsoluteJoining:
		m.JoiningRequestID = d.varint("joining request ID")
		m.JoiningStart = d.varint("joining start")
	default:
		d.fail(protocolViolation("unknown fetch type %d", m.FetchType))
		return
	}
	m.Params = d.params(v, MsgFetch)
}
