package wire

import "io"

// errUnexpectedEOF is the cause wrapped by errors for truncated input.
var errUnexpectedEOF = io.ErrUnexpectedEOF

// Limits bounds every peer-controlled length and count a decoder accepts.
// Each is checked before the decoder allocates; a violation returns an *Error
// (PROTOCOL_VIOLATION) whose reason names the field. A nil *Limits means
// DefaultLimits. Values above the draft's own maxima are clamped to them.
type Limits struct {
	// MaxMessageLength bounds a control message body (the draft's maximum is 65535).
	MaxMessageLength int
	// MaxNamespaceFields bounds the fields of a Track Namespace (draft maximum 32).
	MaxNamespaceFields int
	// MaxNamespaceBytes bounds the summed field lengths of a Track Namespace (draft maximum 4096).
	MaxNamespaceBytes int
	// MaxFullTrackNameBytes bounds namespace plus track name bytes (draft maximum 4096).
	MaxFullTrackNameBytes int
	// MaxParams bounds the Number of Parameters of a message and the setup options.
	MaxParams int
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
}

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

// clamp returns v bounded to [0, draftMax] (draftMax <= 0 means no draft maximum).
func clamp(v, draftMax int) int {
	if v < 0 {
		return 0
	}
	if draftMax > 0 && v > draftMax {
		return draftMax
	}
	return v
}
