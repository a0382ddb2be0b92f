package wire

// RequestUpdate is REQUEST_UPDATE, draft-ietf-moq-transport-18 §10.9
// {#message-request-update} (same in draft-19): Request ID, Parameters.
type RequestUpdate struct {
	RequestID uint64
	Params    Params
}

// Type returns MsgRequestUpdate.
func (*RequestUpdate) Type() uint64 { return MsgRequestUpdate }

func (m *RequestUpdate) appendBody(b []byte, v Version) ([]byte, error) {
	b = AppendVarint(b, m.RequestID)
	return appendParams(b, v, MsgRequestUpdate, &m.Params)
}

func (m *RequestUpdate) decodeBody(d *decoder, v Version) {
	m.RequestID = d.varint("request ID")
	m.Params = d.params(v, MsgRequestUpdate)
}
