package wire

// SubscribeNamespace is SUBSCRIBE_NAMESPACE, draft-ietf-moq-transport-18
// §10.18 {#message-subscribe-ns} (same in draft-19): Request ID, Track
// Namespace Prefix (0 to 32 fields), Parameters.
type SubscribeNamespace struct {
	RequestID uint64
	Prefix    Namespace
	Params    Params
}

// Type returns MsgSubscribeNamespace.
func (*SubscribeNamespace) Type() uint64 { return MsgSubscribeNamespace }

func (m *SubscribeNamespace) appendBody(b []byte, v Version) ([]byte, error) {
	if err := checkNamespace(m.Prefix); err != nil {
		return b, err
	}
	b = AppendVarint(b, m.RequestID)
	b = appendNamespace(b, m.Prefix)
	return appendParams(b, v, MsgSubscribeNamespace, &m.Params)
}

func (m *SubscribeNamespace) decodeBody(d *decoder, v Version) {
	m.RequestID = d.varint("request ID")
	m.Prefix = d.namespace("track namespace prefix")
	m.Params = d.params(v, MsgSubscribeNamespace)
}
