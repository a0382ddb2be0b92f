package wire

import "io"

// errUnexpectedEOF is the cause wrapped by errors for truncated input.
var errUnexpectedEOF = io.ErrUnexpectedEOF

// Limits bounds every peer-controlled length and count a decoder accepts.
// Each is checked before the decoder allocates; a violation returns an *Error
// (PROTOCOL_VIOLATION) whose reason names the field. A nil *Limits, or a
// zero field, means the DefaultLimits value; values above the draft's own
// maxima are clamped to them.
type Limits struct {
	// MaxMessageLength bounds a control message body (the draft's maximum is 65535).
	MaxMessageLength int
	// MaxNamespaceFields bounds the fields of a Track Namespace (draft maximum 32).
	MaxNamespaceFields int
	// MaxNamespaceBytes bounds the summed field lengths of a Track Namespace (draft maximum 4096).
	MaxNamespaceBytes int
	// MaxFullTrackNameBytes bounds namespace plus track name bytes (draft maximum 4096).
	MaxFullTrackNameBytes int
	// MaxParams bounds the Number of Parameters of a message.
	MaxParams int
	// MaxSetupOptions bounds the setup options of one SETUP, known and
	// unknown together. Unknown options are ignored (draft-18 §10.3
	// {#message-setup}), so this only bounds what one SETUP can make the
	// decoder hold: keep it high.
	MaxSetupOptions int
	// MaxUnknownSetupBytes bounds the encoded bytes (type, length, value)
	// of the unknown setup options of one SETUP.
	MaxUnknownSetupBytes int
	// MaxReasonLength bounds a Reason Phrase (draft maximum 1024).
	MaxReasonLength int
	// MaxObjectPayload bounds one Object Payload on a data stream.
	MaxObjectPayload int
	// MaxPropertiesLength bounds the Properties Length of one Object.
	MaxPropertiesLength int
	// MaxTokenLength bounds an AUTHORIZATION TOKEN value.
	MaxTokenLength int
	// MaxURILength bounds GOAWAY New Session URI and Redirect Connect URI (draft maximum 8192).
	MaxURILength int
	// Quirks selects tolerated deviations of known peers when decoding.
	Quirks Quirks
}

// Quirks are decode-time allowances for known deviations of other stacks
// from the drafts. The session sets them per peer (e.g. from the peer's
// MOQT IMPLEMENTATION setup option); the encoder always follows the drafts.
type Quirks uint32

const (
	// QuirkLengthPrefixedLocation reads the LARGEST_OBJECT message parameter
	// as a length-prefixed Location, as @moq/net 0.3.x ("moq-lite-js") writes
	// it on drafts 17-19 (moq-dev/moq#3558). Drafts 18 and 19 (§10.2) define
	// it as two bare varints. A peer with this quirk also misreads a bare
	// LARGEST_OBJECT, so sessions should not send it to such a peer.
	QuirkLengthPrefixedLocation Quirks = 1 << iota
	// QuirkVarintUint8 re-reads a message that fails to decode with its
	// uint8 parameters (FORWARD, SUBSCRIBER_PRIORITY, GROUP_ORDER) taken as
	// varints, as @moq/net 0.2.x writes them (it sends the same MOQT
	// IMPLEMENTATION as 0.3.x, which writes them right). Strict decoding is
	// tried first: a single byte 0x80-0xBF is a valid uint8 but the start of
	// a two-byte varint, so only a failed strict parse falls back.
	QuirkVarintUint8
	// QuirkMisplacedParams reads and ignores a known message parameter that
	// appears in a message whose parameter list does not name it, instead of
	// closing the session. @moq/net 0.1.x ("moq-lite-js", the version
	// @moq/publish 0.2 bundles) sends GROUP_ORDER in SUBSCRIBE_OK, which
	// drafts 18 and 19 (§10.2, "GROUP ORDER Parameter") allow only in
	// SUBSCRIBE, SUBSCRIBE_TRACKS (19) and FETCH. Unknown parameter types
	// still close the session (§10.2).
	QuirkMisplacedParams
)

// Draft maxima that no Limits value may exceed.
const (
	maxMessageLength   = 1<<16 - 1
	maxNamespaceFields = 32
	maxFullTrackName   = 4096
	maxReasonLength    = 1024
	maxURILength       = 8192
	maxKVLength        = 1<<16 - 1
)

// DefaultLimits returns the draft's maxima for control messages, 16 MiB per
// object payload and 64 KiB of properties per object.
func DefaultLimits() *Limits {
	return &Limits{
		MaxMessageLength:      maxMessageLength,
		MaxNamespaceFields:    maxNamespaceFields,
		MaxNamespaceBytes:     maxFullTrackName,
		MaxFullTrackNameBytes: maxFullTrackName,
		MaxParams:             64,
		MaxSetupOptions:       4096,
		MaxUnknownSetupBytes:  16 << 10,
		MaxReasonLength:       maxReasonLength,
		MaxObjectPayload:      16 << 20,
		MaxPropertiesLength:   64 << 10,
		MaxTokenLength:        4096,
		MaxURILength:          maxURILength,
	}
}

var defaultLimits = DefaultLimits()

// orDefault returns lim, or the defaults when lim is nil.
func (lim *Limits) orDefault() *Limits {
	if lim == nil {
		return defaultLimits
	}
	return lim
}

// pick returns v, or def when v <= 0, bounded by draftMax (if > 0).
func pick(v, def, draftMax int) int {
	if v <= 0 {
		v = def
	}
	if draftMax > 0 && v > draftMax {
		return draftMax
	}
	return v
}

func (lim *Limits) messageLength() int {
	return pick(lim.MaxMessageLength, maxMessageLength, maxMessageLength)
}

func (lim *Limits) namespaceFields() int {
	return pick(lim.MaxNamespaceFields, maxNamespaceFields, maxNamespaceFields)
}

func (lim *Limits) namespaceBytes() int {
	return pick(lim.MaxNamespaceBytes, maxFullTrackName, maxFullTrackName)
}

func (lim *Limits) fullTrackNameBytes() int {
	return pick(lim.MaxFullTrackNameBytes, maxFullTrackName, maxFullTrackName)
}

func (lim *Limits) params() int { return pick(lim.MaxParams, defaultLimits.MaxParams, 0) }

func (lim *Limits) setupOptions() int {
	return pick(lim.MaxSetupOptions, defaultLimits.MaxSetupOptions, 0)
}

func (lim *Limits) unknownSetupBytes() int {
	return pick(lim.MaxUnknownSetupBytes, defaultLimits.MaxUnknownSetupBytes, maxMessageLength)
}

func (lim *Limits) reasonLength() int {
	return pick(lim.MaxReasonLength, maxReasonLength, maxReasonLength)
}

func (lim *Limits) objectPayload() int {
	return pick(lim.MaxObjectPayload, defaultLimits.MaxObjectPayload, 0)
}

func (lim *Limits) propertiesLength() int {
	return pick(lim.MaxPropertiesLength, defaultLimits.MaxPropertiesLength, 0)
}

func (lim *Limits) tokenLength() int {
	return pick(lim.MaxTokenLength, defaultLimits.MaxTokenLength, 0)
}

func (lim *Limits) uriLength() int { return pick(lim.MaxURILength, maxURILength, maxURILength) }
