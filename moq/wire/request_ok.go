package wire

// RequestOK is REQUEST_OK, draft-ietf-moq-transport-18 §10.5
// {#message-request-ok} (same in draft-19): Parameters, Track Properties.
// It answers PUBLISH (PUBLISH_OK), REQUEST_UPDATE, TRACK_STATUS,
// SUBSCRIBE_NAMESPACE, SUBSCRIBE_TRACKS and PUBLISH_NAMESPACE; Track
// Properties are only allowed in TRACK_STATUS_OK, which the session checks.
type RequestOK struct {
	Params     Params
	Properties Properties
}

// Type returns MsgRequestOK.
func (*RequestOK) Type() uint64 { return MsgRequestOK }

func (m *RequestOK) appendBody(b []byte, v Version) ([]byte, error) {
	b, err := appendParams(b, v, MsgRequestOK, &m.Params)
	if err != nil {
		return b, err
	}
	return m.Properties.Append(b)
}

func (m *RequestOK) decodeBody(d *decoder, v Version) {
	m.Params = d.params(v, MsgRequestOK)
	m.Properties = d.trackProperties()
}
