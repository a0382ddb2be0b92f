package wire

// SubscribeOK is SUBSCRIBE_OK, draft-ietf-moq-transport-18 §10.8
// {#message-subscribe-ok} (same in draft-19): Track Alias, Parameters, Track
// Properties (the rest of the message).
type SubscribeOK struct {
	TrackAlias uint64
	Params     Params
	Properties Properties
}

// Type returns MsgSubscribeOK.
func (*SubscribeOK) Type() uint64 { return MsgSubscribeOK }

func (m *SubscribeOK) appendBody(b []byte, v Version) ([]byte, error) {
	b = AppendVarint(b, m.TrackAlias)
	b, err := appendParams(b, v, MsgSubscribeOK, &m.Params)
	if err != nil {
		return b, err
	}
	return m.Properties.Append(b)
}

func (m *SubscribeOK) decodeBody(d *decoder, v Version) {
	m.TrackAlias = d.varint("track alias")
	m.Params = d.params(v, MsgSubscribeOK)
	m.Properties = d.trackProperties()
}

// trackProperties reads Track Properties spanning the rest of the message
// (§2.5 {#properties}) and checks the values of known properties.
func (d *decoder) trackProperties() Properties {
	p := Properties(d.kvs("track property", 0))
	if d.err == nil {
		if err := p.validateTrack(); err != nil {
			d.fail(err)
		}
	}
	return p
}
