package wire

// FetchOK is FETCH_OK, draft-ietf-moq-transport-18 §10.13 {#message-fetch-ok}
// (same in draft-19): End Of Track (8), End Location, Parameters, Track Properties.
type FetchOK struct {
	EndOfTrack bool
	// End is the end of the response range, encoded like FETCH's End Location.
	End        Location
	Params     Params
	Properties Properties
}

// Type returns MsgFetchOK.
func (*FetchOK) Type() uint64 { return MsgFetchOK }

func (m *FetchOK) appendBody(b []byte, v Version) ([]byte, error) {
	if m.EndOfTrack {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendLocation(b, m.End)
	b, err := appendParams(b, v, MsgFetchOK, &m.Params)
	if err != nil {
		return b, err
	}
	return m.Properties.Append(b)
}

func (m *FetchOK) decodeBody(d *decoder, v Version) {
	m.EndOfTrack = d.bool8("end of track")
	m.End = d.location("end")
	m.Params = d.params(v, MsgFetchOK)
	m.Properties = d.trackProperties()
}
