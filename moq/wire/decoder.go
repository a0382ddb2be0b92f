package wire

// decoder is a cursor over a bounded byte slice (a control message body, a
// datagram, a properties block). Errors are sticky: after the first failure
// every read returns a zero value and err keeps the first *Error.
type decoder struct {
	// varintU8 reads uint8 fields as varints (QuirkVarintUint8).
	varintU8 bool
	b        []byte
	lim      *Limits
	err      *Error
}

// fail records the first error.
func (d *decoder) fail(e *Error) {
	if d.err == nil {
		d.err = e
	}
}

// empty reports whether all input was consumed.
func (d *decoder) empty() bool { return len(d.b) == 0 }

// varint reads one varint; what names the field in errors.
func (d *decoder) varint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n, err := ParseVarint(d.b)
	if err != nil {
		d.fail(truncated(what))
		return 0
	}
	d.b = d.b[n:]
	return v
}

// u8 reads one byte.
func (d *decoder) u8(what string) uint8 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail(truncated(what))
		return 0
	}
	if d.varintU8 {
		v := d.varint(what)
		if d.err == nil && v > 255 {
			d.fail(protocolViolation("%s: %d does not fit a uint8", what, v))
		}
		return uint8(v)
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// take returns the next n bytes (aliasing the input).
func (d *decoder) take(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(truncated(what))
		return nil
	}
	if n == 0 {
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// rest returns all remaining bytes.
func (d *decoder) rest() []byte {
	if d.err != nil {
		return nil
	}
	p := d.b
	d.b = nil
	if len(p) == 0 {
		return nil
	}
	return p
}

// lenBytes reads a varint length and that many bytes; a length above max
// fails with a limit error naming limit.
func (d *decoder) lenBytes(what, limit string, max int) []byte {
	n := d.varint(what + " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(max) {
		d.fail(limitExceeded(limit, n, max))
		return nil
	}
	return d.take(n, what)
}

// location reads a Location structure.
func (d *decoder) location(what string) Location {
	g := d.varint(what + " group")
	o := d.varint(what + " object")
	return Location{Group: g, Object: o}
}

// reason reads a Reason Phrase (§1.4.4 {#reason-phrase}).
func (d *decoder) reason() string {
	lim := d.lim.reasonLength()
	return string(d.lenBytes("reason phrase", "MaxReasonLength", lim))
}

// uri reads a length-prefixed URI bounded by MaxURILength.
func (d *decoder) uri(what string) string {
	lim := d.lim.uriLength()
	return string(d.lenBytes(what, "MaxURILength", lim))
}

// bool8 reads an 8-bit 0/1 flag; other values are a PROTOCOL_VIOLATION.
func (d *decoder) bool8(what string) bool {
	c := d.u8(what)
	if c > 1 {
		d.fail(protocolViolation("%s: value %d is not 0 or 1", what, c))
	}
	return c == 1
}

// appendLenBytes appends a varint length and p.
func appendLenBytes(b, p []byte) []byte {
	return append(AppendVarint(b, uint64(len(p))), p...)
}

// appendLenString appends a varint length and s.
func appendLenString(b []byte, s string) []byte {
	return append(AppendVarint(b, uint64(len(s))), s...)
}
