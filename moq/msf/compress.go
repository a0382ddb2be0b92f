package msf

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
)

// PropertyCompression is the MSF_COMPRESSION track and object property type
// (draft-ietf-moq-msf, Section 12.1); its value 1 means GZIP.
const PropertyCompression = 0x78

// Compression algorithms of the MSF_COMPRESSION property (Section 12.1).
const (
	CompressionNone = 0
	CompressionGZIP = 1
)

// Decompress returns the payload of a catalog object compressed with algorithm
// alg (the MSF_COMPRESSION value), refusing output above MaxCatalogSize.
func Decompress(alg uint64, payload []byte) ([]byte, error) {
	switch alg {
	case CompressionNone:
		return payload, nil
	case CompressionGZIP:
		zr, err := gzip.NewReader(bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %w", ErrMalformed, err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, MaxCatalogSize+1))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %w", ErrMalformed, err)
		}
		if len(out) > MaxCatalogSize {
			return nil, fmt.Errorf("%w: decompresses above %d bytes", ErrTooLarge, MaxCatalogSize)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: compression %d", ErrUnsupported, alg)
}

// Compress gzips a catalog object for MSF_COMPRESSION value 1.
func Compress(payload []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(payload)
	_ = zw.Close()
	return buf.Bytes()
}
