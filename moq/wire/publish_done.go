package wire

import "errors"

// PublishDone is PUBLISH_DONE, draft-ietf-moq-transport-18 §10.11
// {#message-publish-done} (same in draft-19): Status Code, Stream Count,
// Error Reason.
type PublishDone struct {
	Status PublishDoneCode
	// StreamCount is the number of data streams opened for the subscription;
	// 2^62-1 when unknown.
	StreamCount uint64
	Reason      string
}

// StreamCountUnknown is the Stream Count a publisher sends when it cannot count.
const StreamCountUnknown = 1<<62 - 1

// Type returns MsgPublishDone.
func (*PublishDone) Type() uint64 { return MsgPublishDone }

func (m *PublishDone) appendBody(b []byte, _ Version) ([]byte, error) {
	if len(m.Reason) > maxReasonLength {
		return b, errors.New("reason phrase longer than 1024 bytes")
	}
	b = AppendVarint(b, uint64(m.Status))
	b = AppendVarint(b, m.StreamCount)
	return appendLenString(b, m.Reason), nil
}

func (m *PublishDone) decodeBody(d *decoder, _ Version) {
	m.Status = PublishDoneCode(d.varint("status code"))
	m.StreamCount = d.varint("stream count")
	m.Reason = d.reason()
}
