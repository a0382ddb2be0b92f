package wire

// Subscribe is SUBSCRIBE, draft-ietf-moq-transport-18 §10.7 {#message-subscribe-req}
// (same in draft-19): Request ID, Track Namespace, Track Name, Parameters.
type Subscribe struct {
	RequestID uint64
	Track     FullTrackName
	Params    Params
}

// Type returns MsgSubscribe.
func (*Subscribe) Type() uint64 { return MsgSubscribe }

func (m *Subscribe) appendBody(b []byte, v Version) ([]byte, error) {
	if err := checkFullTrackName(&m.Track); err != nil {
		return b, err
	}
	b = AppendVarint(b, m.RequestID)
	b = appendFullTrackName(b, &m.Track)
	return appendParams(b, v, MsgSubscribe, &m.Params)
}

func (m *Subscribe) decodeBody(d *decoder, v Version) {
	m.RequestID = d.varint("request ID")
	m.Track = d.fullTrackName()
	m.Params = d.params(v, MsgSubscribe)
}
