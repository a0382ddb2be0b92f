package wire

// PublishNamespace is PUBLISH_NAMESPACE, draft-ietf-moq-transport-18 §10.15
// {#message-pub-ns} (same in draft-19): Request ID, Track Namespace, Parameters.
type PublishNamespace struct {
	RequestID uint64
	Namespace Namespace
	Params    Params
}

// Type returns MsgPublishNamespace.
func (*PublishNamespace) Type() uint64 { return MsgPublishNamespace }

func (m *PublishNamespace) appendBody(b []byte, v Version) ([]byte, error) {
	if err := checkNamespace(m.Namespace); err != nil {
		return b, err
	}
	b = AppendVarint(b, m.RequestID)
	b = appendNamespace(b, m.Namespace)
	return appendParams(b, v, MsgPublishNamespace, &m.Params)
}

func (m *PublishNamespace) decodeBody(d *decoder, v Version) {
	m.RequestID = d.varint("request ID")
	m.Namespace = d.namespace("track namespace")
	m.Params = d.params(v, MsgPublishNamespace)
}
