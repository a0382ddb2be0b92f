package wire

// TrackStatus is TRACK_STATUS, draft-ietf-moq-transport-18 §10.14
// {#message-track-status} (same in draft-19): the SUBSCRIBE format. It is
// answered by REQUEST_OK (TRACK_STATUS_OK) or REQUEST_ERROR.
type TrackStatus struct {
	RequestID uint64
	Track     FullTrackName
	Params    Params
}

// Type returns MsgTrackStatus.
func (*TrackStatus) Type() uint64 { return MsgTrackStatus }

func (m *TrackStatus) appendBody(b []byte, v Version) ([]byte, error) {
	if err := checkFullTrackName(&m.Track); err != nil {
		return b, err
	}
	b = AppendVarint(b, m.RequestID)
	b = appendFullTrackName(b, &m.Track)
	return appendParams(b, v, MsgTrackStatus, &m.Params)
}

func (m *TrackStatus) decodeBody(d *decoder, v Version) {
	m.RequestID = d.varint("request ID")
	m.Track = d.fullTrackName()
	m.Params = d.params(v, MsgTrackStatus)
}
