package wire

import (
	"bytes"
	"errors"
	"strings"
)

// Namespace is a Track Namespace: an ordered tuple of 0 to 32 non-empty byte
// fields, draft-ietf-moq-transport-18 §2.4.1 {#track-name}.
type Namespace [][]byte

// FullTrackName is a Track Namespace plus a Track Name (possibly empty),
// draft-ietf-moq-transport-18 §2.4.1 {#track-name}.
type FullTrackName struct {
	Namespace Namespace
	Name      []byte
}

// NewNamespace builds a Namespace from string fields.
func NewNamespace(fields ...string) Namespace {
	ns := make(Namespace, len(fields))
	for i, f := range fields {
		ns[i] = []byte(f)
	}
	return ns
}

// Equal reports whether two namespaces have the same fields.
func (n Namespace) Equal(o Namespace) bool {
	if len(n) != len(o) {
		return false
	}
	for i := range n {
		if !bytes.Equal(n[i], o[i]) {
			return false
		}
	}
	return true
}

// HasPrefix reports whether p is a prefix (field by field) of n.
func (n Namespace) HasPrefix(p Namespace) bool {
	return len(p) <= len(n) && n[:len(p)].Equal(p)
}

// byteLen returns the summed field lengths.
func (n Namespace) byteLen() int {
	t := 0
	for _, f := range n {
		t += len(f)
	}
	return t
}

// literal reports whether c is rendered as itself (a-z, A-Z, 0-9, _).
func literal(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

const hexDigits = "0123456789abcdef"

// appendSafe appends the safe rendering of one field or name.
func appendSafe(b []byte, p []byte) []byte {
	for _, c := range p {
		if literal(c) {
			b = append(b, c)
		} else {
			b = append(b, '.', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}

// String renders the namespace in the draft's safe form: fields joined by
// "-", bytes other than a-z A-Z 0-9 _ as "." and two lower-case hex digits
// (draft-ietf-moq-transport-18 §1.5 "Representing Namespace and Track Names").
func (n Namespace) String() string {
	var b []byte
	for i, f := range n {
		if i > 0 {
			b = append(b, '-')
		}
		b = appendSafe(b, f)
	}
	return string(b)
}

// String renders the full track name as namespace "--" name in the safe form.
func (t FullTrackName) String() string {
	b := []byte(t.Namespace.String())
	b = append(b, '-', '-')
	return string(appendSafe(b, t.Name))
}

// errBadName is wrapped by errors from the safe-form parsers.
var errBadName = errors.New("moq: invalid serialized name")

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// parseSafe decodes one safe-form field, enforcing the canonical rules of
// §1.5.1 "Parsing Serialized Names": lower-case hex, exactly two digits,
// no hex form for literal bytes.
func parseSafe(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if literal(c) {
			out = append(out, c)
			continue
		}
		if c != '.' {
			return nil, errBadName
		}
		if i+2 >= len(s) {
			return nil, errBadName
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return nil, errBadName
		}
		v := hi<<4 | lo
		if literal(v) {
			return nil, errBadName
		}
		out = append(out, v)
		i += 2
	}
	return out, nil
}

// ParseNamespaceString parses the safe form produced by Namespace.String.
// The empty string is the empty namespace. Non-canonical input is rejected.
func ParseNamespaceString(s string) (Namespace, error) {
	if s == "" {
		return Namespace{}, nil
	}
	parts := strings.Split(s, "-")
	if len(parts) > maxNamespaceFields {
		return nil, errBadName
	}
	ns := make(Namespace, len(parts))
	for i, p := range parts {
		f, err := parseSafe(p)
		if err != nil || len(f) == 0 {
			return nil, errBadName
		}
		ns[i] = f
	}
	return ns, nil
}

// ParseFullTrackNameString parses namespace "--" name in the safe form.
func ParseFullTrackNameString(s string) (FullTrackName, error) {
	i := strings.Index(s, "--")
	if i < 0 {
		return FullTrackName{}, errBadName
	}
	ns, err := ParseNamespaceString(s[:i])
	if err != nil {
		return FullTrackName{}, err
	}
	name, err := parseSafe(s[i+2:])
	if err != nil {
		return FullTrackName{}, err
	}
	return FullTrackName{Namespace: ns, Name: name}, nil
}

// appendNamespace appends the Track Namespace structure.
func appendNamespace(b []byte, n Namespace) []byte {
	b = AppendVarint(b, uint64(len(n)))
	for _, f := range n {
		b = appendLenBytes(b, f)
	}
	return b
}

// appendFullTrackName appends Track Namespace, Track Name Length, Track Name.
func appendFullTrackName(b []byte, t *FullTrackName) []byte {
	return appendLenBytes(appendNamespace(b, t.Namespace), t.Name)
}

// checkNamespace validates a namespace for encoding.
func checkNamespace(n Namespace) error {
	if len(n) > maxNamespaceFields {
		return errors.New("moq: namespace has more than 32 fields")
	}
	for _, f := range n {
		if len(f) == 0 {
			return errors.New("moq: empty namespace field")
		}
	}
	if n.byteLen() > maxFullTrackName {
		return errors.New("moq: namespace longer than 4096 bytes")
	}
	return nil
}

// checkFullTrackName validates a full track name for encoding.
func checkFullTrackName(t *FullTrackName) error {
	if err := checkNamespace(t.Namespace); err != nil {
		return err
	}
	if t.Namespace.byteLen()+len(t.Name) > maxFullTrackName {
		return errors.New("moq: full track name longer than 4096 bytes")
	}
	return nil
}

// namespace reads a Track Namespace, enforcing field count, empty fields and byte limits.
func (d *decoder) namespace(what string) Namespace {
	n := d.varint(what + " field count")
	if d.err != nil {
		return nil
	}
	maxFields := d.lim.namespaceFields()
	if n > uint64(maxFields) {
		d.fail(limitExceeded("MaxNamespaceFields", n, maxFields))
		return nil
	}
	if n > uint64(len(d.b)) { // each field takes at least one byte
		d.fail(truncated(what))
		return nil
	}
	if n == 0 {
		return nil
	}
	maxBytes := d.lim.namespaceBytes()
	ns := make(Namespace, n)
	total := 0
	for i := range ns {
		l := d.varint(what + " field length")
		if d.err != nil {
			return nil
		}
		if l == 0 {
			d.fail(protocolViolation("%s: empty namespace field", what))
			return nil
		}
		if l > uint64(maxBytes-total) {
			d.fail(limitExceeded("MaxNamespaceBytes", uint64(total)+l, maxBytes))
			return nil
		}
		total += int(l)
		ns[i] = d.take(l, what+" field")
	}
	return ns
}

// fullTrackName reads Track Namespace, Track Name Length, Track Name.
func (d *decoder) fullTrackName() FullTrackName {
	ns := d.namespace("track namespace")
	maxFull := d.lim.fullTrackNameBytes()
	room := maxFull - ns.byteLen()
	if room < 0 {
		room = 0
	}
	name := d.lenBytes("track name", "MaxFullTrackNameBytes", room)
	return FullTrackName{Namespace: ns, Name: name}
}
