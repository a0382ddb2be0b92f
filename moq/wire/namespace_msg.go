package wire

// NamespaceMsg is NAMESPACE, draft-ietf-moq-transport-18 §10.16
// {#message-namespace} (same in draft-19): the Track Namespace Suffix after
// the SUBSCRIBE_NAMESPACE prefix. (Named NamespaceMsg because Namespace is
// the tuple type.)
type NamespaceMsg struct {
	Suffix Namespace
}

// Type returns MsgNamespace.
func (*NamespaceMsg) Type() uint64 { return MsgNamespace }

func (m *NamespaceMsg) appendBody(b []byte, _ Version) ([]byte, error) {
	if err := checkNamespace(m.Suffix); err != nil {
		return b, err
	}
	return appendNamespace(b, m.Suffix), nil
}

func (m *NamespaceMsg) decodeBody(d *decoder, _ Version) {
	m.Suffix = d.namespace("track namespace suffix")
}
