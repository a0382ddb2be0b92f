package wire

// NamespaceDone is NAMESPACE_DONE, draft-ietf-moq-transport-18 §10.17
// {#message-namespace-done} (same in draft-19): Track Namespace Suffix.
type NamespaceDone struct {
	Suffix Namespace
}

// Type returns MsgNamespaceDone.
func (*NamespaceDone) Type() uint64 { return MsgNamespaceDone }

func (m *NamespaceDone) appendBody(b []byte, _ Version) ([]byte, error) {
	if err := checkNamespace(m.Suffix); err != nil {
		return b, err
	}
	return appendNamespace(b, m.Suffix), nil
}

func (m *NamespaceDone) decodeBody(d *decoder, _ Version) {
	m.Suffix = d.namespace("track namespace suffix")
}
