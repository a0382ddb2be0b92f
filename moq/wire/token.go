package wire

import "fmt"

// AliasType is the Alias Type of a Token, draft-ietf-moq-transport-18 §10.2.2 {#authorization-token}.
type AliasType uint64

// Token alias types (§15.5).
const (
	AliasDelete   AliasType = 0x0 // Alias only: retire the alias
	AliasRegister AliasType = 0x1 // Alias, Type, Value: register
	AliasUseAlias AliasType = 0x2 // Alias only: use a registered token
	AliasUseValue AliasType = 0x3 // Type, Value: use as given
)

// Token is the AUTHORIZATION TOKEN structure (§10.2.2 {#moq-token}), carried
// by the message parameter and the setup option of type 0x03.
type Token struct {
	AliasType AliasType
	Alias     uint64 // DELETE, REGISTER, USE_ALIAS
	Type      uint64 // REGISTER, USE_VALUE
	Value     []byte // REGISTER, USE_VALUE
}

// hasAlias reports whether the alias type carries a Token Alias.
func (t AliasType) hasAlias() bool { return t != AliasUseValue }

// hasValue reports whether the alias type carries Token Type and Value.
func (t AliasType) hasValue() bool { return t == AliasRegister || t == AliasUseValue }

// appendToken appends the Token structure without an outer length.
func appendToken(b []byte, t *Token) ([]byte, error) {
	if t.AliasType > AliasUseValue {
		return b, fmt.Errorf("moq: unknown token alias type %d", t.AliasType)
	}
	b = AppendVarint(b, uint64(t.AliasType))
	if t.AliasType.hasAlias() {
		b = AppendVarint(b, t.Alias)
	}
	if t.AliasType.hasValue() {
		b = AppendVarint(b, t.Type)
		b = append(b, t.Value...)
	}
	return b, nil
}

// tokenLen returns the encoded length of the Token structure.
func tokenLen(t *Token) int {
	n := VarintLen(uint64(t.AliasType))
	if t.AliasType.hasAlias() {
		n += VarintLen(t.Alias)
	}
	if t.AliasType.hasValue() {
		n += VarintLen(t.Type) + len(t.Value)
	}
	return n
}

// parseToken decodes a Token that spans all of b. A structure that cannot be
// decoded is a KEY_VALUE_FORMATTING_ERROR (§10.2.2).
func parseToken(b []byte, lim *Limits) (Token, *Error) {
	d := decoder{b: b, lim: lim}
	var t Token
	t.AliasType = AliasType(d.varint("token alias type"))
	if d.err == nil && t.AliasType > AliasUseValue {
		return t, newError(ErrKeyValueFormatting, "unknown token alias type %d", t.AliasType)
	}
	if t.AliasType.hasAlias() {
		t.Alias = d.varint("token alias")
	}
	if t.AliasType.hasValue() {
		t.Type = d.varint("token type")
		t.Value = d.rest()
	}
	if d.err != nil {
		return t, newError(ErrKeyValueFormatting, "token: %s", d.err.Reason)
	}
	if !d.empty() {
		return t, newError(ErrKeyValueFormatting, "token: %d trailing bytes", len(d.b))
	}
	if len(t.Value) > lim.tokenLength() {
		return t, limitExceeded("MaxTokenLength", uint64(len(t.Value)), lim.tokenLength())
	}
	return t, nil
}

// CacheSize is the size a registered token occupies in the peer's token
// cache: 16 bytes plus the Token Value (§10.3.1.3 {#max-auth-token-cache-size}).
func (t *Token) CacheSize() uint64 { return 16 + uint64(len(t.Value)) }
