package wire

import "errors"

// Redirect is the Redirect structure of REQUEST_ERROR,
// draft-ietf-moq-transport-18 §10.6.1 {#redirect-structure}: Connect URI,
// Track Namespace, Track Name. An empty URI means the current session; an
// empty namespace and name mean the original ones.
type Redirect struct {
	ConnectURI string
	Track      FullTrackName
}

// RequestError is REQUEST_ERROR, draft-ietf-moq-transport-18 §10.6.2
// (same in draft-19): Error Code, Retry Interval, Error Reason, and a
// Redirect exactly when the code is REDIRECT.
type RequestError struct {
	Code RequestErrorCode
	// RetryInterval is the minimum retry delay in milliseconds plus one; 0: do not retry.
	RetryInterval uint64
	Reason        string
	// Redirect is required when Code is RequestRedirect and must be nil otherwise.
	Redirect *Redirect
}

// Type returns MsgRequestError.
func (*RequestError) Type() uint64 { return MsgRequestError }

func (m *RequestError) appendBody(b []byte, _ Version) ([]byte, error) {
	if len(m.Reason) > maxReasonLength {
		return b, errors.New("reason phrase longer than 1024 bytes")
	}
	if (m.Code == RequestRedirect) != (m.Redirect != nil) {
		return b, errors.New("redirect structure present iff code is REDIRECT")
	}
	b = AppendVarint(b, uint64(m.Code))
	b = AppendVarint(b, m.RetryInterval)
	b = appendLenString(b, m.Reason)
	if r := m.Redirect; r != nil {
		if len(r.ConnectURI) > maxURILength {
			return b, errors.New("connect URI longer than 8192 bytes")
		}
		if err := checkFullTrackName(&r.Track); err != nil {
			return b, err
		}
		b = appendLenString(b, r.ConnectURI)
		b = appendFullTrackName(b, &r.Track)
	}
	return b, nil
}

func (m *RequestError) decodeBody(d *decoder, _ Version) {
	m.Code = RequestErrorCode(d.varint("error code"))
	m.RetryInterval = d.varint("retry interval")
	m.Reason = d.reason()
	if m.Code == RequestRedirect && d.err == nil {
		r := &Redirect{}
		r.ConnectURI = d.uri("connect URI")
		r.Track = d.fullTrackName()
		m.Redirect = r
	}
}
