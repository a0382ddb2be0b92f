package wire

// Publish is PUBLISH, draft-ietf-moq-transport-18 §10.10 {#message-publish}
// (same in draft-19): Request ID, Track Namespace, Track Name, Track Alias,
// Parameters, Track Properties.
type Publish struct {
	RequestID  uint64
	Track      FullTrackName
	TrackAlias uint64
	Params     Params
	Properties Properties
}

// Type returns MsgPublish.
func (*Publish) Type() uint64 { return MsgPublish }

func (m *Publish) appendBody(b []byte, v Version) ([]byte, error) {
	if err := checkFullTrackName(&m.Track); err != nil {
		return b, err
	}
	b = AppendVarint(b, m.RequestID)
	b = appendFullTrackName(b, &m.Track)
	b = AppendVarint(b, m.TrackAlias)
	b, err := appendParams(b, v, MsgPublish, &m.Params)
	if err != nil {
		return b, err
	}
	return m.Properties.Append(b)
}

func (m *Publish) decodeBody(d *decoder, v Version) {
	m.RequestID = d.varint("request ID")
	m.Track = d.fullTrackName()
	m.TrackAlias = d.varint("track alias")
	m.Params = d.params(v, MsgPublish)
	m.Properties = d.trackProperties()
}
