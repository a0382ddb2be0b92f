package wire

import "fmt"

// Setup option types, draft-ietf-moq-transport-18 §10.3.1 {#setup-options}
// and §15.4 {#iana-setup-options}; MAX_FILTER_RANGES and MAX_REQUEST_UPDATES
// are draft-19 §10.3.1.6-10.3.1.7. Setup options are version independent.
const (
	OptPath                  uint64 = 0x01
	OptAuthorizationToken    uint64 = 0x03
	OptMaxAuthTokenCacheSize uint64 = 0x04
	OptAuthority             uint64 = 0x05
	OptMaxFilterRanges       uint64 = 0x06
	OptMoqtImplementation    uint64 = 0x07
	OptMaxRequestUpdates     uint64 = 0x08
)

// Setup is SETUP, draft-ietf-moq-transport-18 §10.3 {#message-setup}: the
// first message on each endpoint's control stream. The type 0x2F00 is also
// the control stream's stream type. Neither draft has a request-ID limit
// option (MAX_REQUEST_ID was removed in draft-17; request streams are limited
// by QUIC stream credit); draft-19 adds MAX_REQUEST_UPDATES.
type Setup struct {
	// Path is PATH (§10.3.1.2): client only, native QUIC only.
	Path *string
	// Authority is AUTHORITY (§10.3.1.1): client only, native QUIC only.
	Authority *string
	// AuthorizationTokens are AUTHORIZATION TOKEN options (§10.3.1.4).
	AuthorizationTokens []Token
	// MaxAuthTokenCacheSize is MAX_AUTH_TOKEN_CACHE_SIZE in bytes (§10.3.1.3), default 0.
	MaxAuthTokenCacheSize *uint64
	// MoqtImplementation is MOQT IMPLEMENTATION (§10.3.1.5).
	MoqtImplementation *string
	// MaxFilterRanges is MAX FILTER RANGES (draft-19 §10.3.1.6), default 0.
	MaxFilterRanges *uint64
	// MaxRequestUpdates is MAX_REQUEST_UPDATES (draft-19 §10.3.1.7), default 0 (unlimited).
	MaxRequestUpdates *uint64
	// Unknown holds unrecognized options in wire order; receivers ignore
	// them (§10.3) and senders may use them for greasing.
	Unknown []KeyValue
}

// Type returns MsgSetup.
func (*Setup) Type() uint64 { return MsgSetup }

func (m *Setup) appendBody(b []byte, _ Version) ([]byte, error) {
	var prev uint64
	var err error
	unk := 0
	// flush writes the unknown options that sort before t (all when last).
	flush := func(t uint64, last bool) {
		for ; err == nil && unk < len(m.Unknown) && (last || m.Unknown[unk].Type < t); unk++ {
			kv := m.Unknown[unk]
			switch {
			case knownOption(kv.Type):
				err = fmt.Errorf("setup option 0x%x in Unknown is a known option", kv.Type)
			case kv.Type < prev:
				err = fmt.Errorf("unknown setup options not in ascending order")
			case kv.IsBytes() && len(kv.Bytes) > maxKVLength:
				err = fmt.Errorf("setup option 0x%x longer than 65535 bytes", kv.Type)
			}
			if err != nil {
				return
			}
			b = AppendVarint(b, kv.Type-prev)
			prev = kv.Type
			if kv.IsBytes() {
				b = appendLenBytes(b, kv.Bytes)
			} else {
				b = AppendVarint(b, kv.Value)
			}
		}
	}
	str := func(t uint64, s *string) {
		flush(t, false)
		if s != nil && err == nil {
			if len(*s) > maxKVLength {
				err = fmt.Errorf("setup option 0x%x longer than 65535 bytes", t)
				return
			}
			b = appendLenString(AppendVarint(b, t-prev), *s)
			prev = t
		}
	}
	num := func(t uint64, v *uint64) {
		flush(t, false)
		if v != nil && err == nil {
			b = AppendVarint(AppendVarint(b, t-prev), *v)
			prev = t
		}
	}
	str(OptPath, m.Path)
	flush(OptAuthorizationToken, false)
	for i := range m.AuthorizationTokens {
		if err != nil {
			break
		}
		tk := &m.AuthorizationTokens[i]
		b = AppendVarint(b, OptAuthorizationToken-prev)
		prev = OptAuthorizationToken
		b = AppendVarint(b, uint64(tokenLen(tk)))
		b, err = appendToken(b, tk)
	}
	num(OptMaxAuthTokenCacheSize, m.MaxAuthTokenCacheSize)
	str(OptAuthority, m.Authority)
	num(OptMaxFilterRanges, m.MaxFilterRanges)
	str(OptMoqtImplementation, m.MoqtImplementation)
	num(OptMaxRequestUpdates, m.MaxRequestUpdates)
	flush(0, true)
	return b, err
}

// knownOption reports whether t is a setup option this package decodes.
func knownOption(t uint64) bool {
	switch t {
	case OptPath, OptAuthorizationToken, OptMaxAuthTokenCacheSize, OptAuthority, OptMaxFilterRanges,
		OptMoqtImplementation, OptMaxRequestUpdates:
		return true
	}
	return false
}

// decodeBody reads the setup options. Unknown options are ignored (draft-18
// and -19 §10.3 {#message-setup}: "Receivers MUST ignore unrecognized Setup
// Options", and must allow them repeated); they are kept in Unknown, bounded
// in count by MaxSetupOptions and in bytes by MaxUnknownSetupBytes, so that a
// SETUP of a few thousand greasing options still passes while one that fills
// its 64 KiB with them does not make the decoder hold it all.
func (m *Setup) decodeBody(d *decoder, _ Version) {
	maxCount, maxUnknown := d.lim.setupOptions(), d.lim.unknownSetupBytes()
	var prev, seen uint64
	count, unknownBytes := 0, 0
	for d.err == nil && !d.empty() {
		before := len(d.b)
		kv := d.kv("setup option", &prev)
		if d.err != nil {
			return
		}
		if count++; count > maxCount {
			d.fail(limitExceeded("MaxSetupOptions", uint64(count), maxCount))
			return
		}
		if !knownOption(kv.Type) {
			if unknownBytes += before - len(d.b); unknownBytes > maxUnknown {
				d.fail(limitExceeded("MaxUnknownSetupBytes", uint64(unknownBytes), maxUnknown))
				return
			}
			m.Unknown = append(m.Unknown, kv)
			continue
		}
		if seen&(1<<kv.Type) != 0 && kv.Type != OptAuthorizationToken {
			d.fail(protocolViolation("duplicate setup option 0x%x", kv.Type))
			return
		}
		seen |= 1 << kv.Type
		switch kv.Type {
		case OptPath:
			m.Path = Ptr(string(kv.Bytes))
		case OptAuthority:
			m.Authority = Ptr(string(kv.Bytes))
		case OptMoqtImplementation:
			m.MoqtImplementation = Ptr(string(kv.Bytes))
		case OptMaxAuthTokenCacheSize:
			m.MaxAuthTokenCacheSize = Ptr(kv.Value)
		case OptMaxFilterRanges:
			m.MaxFilterRanges = Ptr(kv.Value)
		case OptMaxRequestUpdates:
			m.MaxRequestUpdates = Ptr(kv.Value)
		case OptAuthorizationToken:
			tk, err := parseToken(kv.Bytes, d.lim)
			if err != nil {
				d.fail(err)
				return
			}
			m.AuthorizationTokens = append(m.AuthorizationTokens, tk)
		}
	}
}
