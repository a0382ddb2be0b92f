package wire

// SubscribeTracks is SUBSCRIBE_TRACKS, draft-ietf-moq-transport-18 §10.19
// {#message-subscribe-tracks} (draft-19 §10.19, which also allows the
// SUBSCRIBE parameters, §10.19.1): Request ID, Track Namespace Prefix, Parameters.
type SubscribeTracks struct {
	RequestID uint64
	Prefix    Namespace
	Params    Params
}

// Type returns MsgSubscribeTracks.
func (*SubscribeTracks) Type() uint64 { return MsgSubscribeTracks }

func (m *SubscribeTracks) appendBody(b []byte, v Version) ([]byte, error) {
	if err := checkNamespace(m.Prefix); err != nil {
		return b, err
	}
	b = AppendVarint(b, m.RequestID)
	b = appendNamespace(b, m.Prefix)
	return appendParams(b, v, MsgSubscribeTracks, &m.Params)
}

func (m *SubscribeTracks) decodeBody(d *decoder, v Version) {
	m.RequestID = d.varint("request ID")
	m.Prefix = d.namespace("track namespace prefix")
	m.Params = d.params(v, MsgSubscribeTracks)
}
