package wire

// PublishSkipped is PUBLISH_SKIPPED, draft-ietf-moq-transport-19 §10.20
// {#message-publish-skipped}, which is PUBLISH_BLOCKED in draft-18 §10.20
// {#message-publish-blocked} with the same type (0xF) and format: Track
// Namespace Suffix, Track Name.
type PublishSkipped struct {
	Suffix Namespace
	Name   []byte
}

// PublishBlocked is the draft-18 name of PublishSkipped.
type PublishBlocked = PublishSkipped

// Type returns MsgPublishSkipped (= MsgPublishBlocked).
func (*PublishSkipped) Type() uint64 { return MsgPublishSkipped }

func (m *PublishSkipped) appendBody(b []byte, _ Version) ([]byte, error) {
	t := FullTrackName{Namespace: m.Suffix, Name: m.Name}
	if err := checkFullTrackName(&t); err != nil {
		return b, err
	}
	return appendFullTrackName(b, &t), nil
}

func (m *PublishSkipped) decodeBody(d *decoder, _ Version) {
	t := d.fullTrackName()
	m.Suffix, m.Name = t.Namespace, t.Name
}
