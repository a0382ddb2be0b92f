package codec

import "fmt"

// SPS holds what the player needs from an H.264 sequence parameter set
// (ITU-T H.264 section 7.3.2.1.1).
type SPS struct {
	// Profile and Level are profile_idc and level_idc.
	Profile, Level int
	// ChromaFormat is chroma_format_idc (1 = 4:2:0).
	ChromaFormat int
	// Width and Height are the cropped picture size in pixels.
	Width, Height int
}

// MaxPictureSide bounds the width and height ParseSPS accepts.
const MaxPictureSide = 16384

// bitReader reads bits most significant first from RBSP bytes.
type bitReader struct {
	b   []byte
	pos int // in bits
}

func (r *bitReader) bit() (uint, error) {
	if r.pos >= len(r.b)*8 {
		return 0, ErrTruncated
	}
	v := uint(r.b[r.pos/8]>>(7-r.pos%8)) & 1
	r.pos++
	return v, nil
}

func (r *bitReader) bits(n int) (uint, error) {
	var v uint
	for range n {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | b
	}
	return v, nil
}

// ue reads an unsigned Exp-Golomb code (section 9.1), up to 32 leading zeros.
func (r *bitReader) ue() (uint, error) {
	zeros := 0
	for {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		if b == 1 {
			break
		}
		zeros++
		if zeros > 31 {
			return 0, fmt.Errorf("codec: Exp-Golomb code too long: %w", ErrBadSPS)
		}
	}
	v, err := r.bits(zeros)
	if err != nil {
		return 0, err
	}
	return (1<<zeros - 1) + v, nil
}

func (r *bitReader) se() (int, error) {
	v, err := r.ue()
	if err != nil {
		return 0, err
	}
	if v&1 == 1 {
		return int(v+1) / 2, nil
	}
	return -int(v / 2), nil
}

// Unescape removes emulation-prevention bytes (00 00 03) from a NAL unit's
// payload (section 7.4.1), giving its RBSP.
func Unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// ParseSPS parses a sequence parameter set NAL unit (with its one-byte
// header) for the profile, level and cropped picture size.
func ParseSPS(nal []byte) (SPS, error) {
	var s SPS
	if len(nal) < 4 || NALType(nal) != NALSPS {
		return s, fmt.Errorf("codec: not an SPS NAL unit: %w", ErrBadSPS)
	}
	r := &bitReader{b: Unescape(nal[1:])}
	wrap := func(err error) (SPS, error) { return SPS{}, fmt.Errorf("codec: SPS: %w (%w)", ErrBadSPS, err) }
	prof, _ := r.bits(8)
	if _, err := r.bits(8); err != nil { // constraint flags
		return wrap(err)
	}
	lvl, err := r.bits(8)
	if err != nil {
		return wrap(err)
	}
	s.Profile, s.Level = int(prof), int(lvl)
	if _, err := r.ue(); err != nil { // seq_parameter_set_id
		return wrap(err)
	}
	s.ChromaFormat = 1
	separateColour := uint(0)
	switch s.Profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		cf, err := r.ue()
		if err != nil {
			return wrap(err)
		}
		if cf > 3 {
			return wrap(fmt.Errorf("chroma_format_idc %d", cf))
		}
		s.ChromaFormat = int(cf)
		if cf == 3 {
			if separateColour, err = r.bit(); err != nil {
				return wrap(err)
			}
		}
		if _, err := r.ue(); err != nil { // bit_depth_luma_minus8
			return wrap(err)
		}
		if _, err := r.ue(); err != nil { // bit_depth_chroma_minus8
			return wrap(err)
		}
		if _, err := r.bit(); err != nil { // qpprime_y_zero_transform_bypass_flag
			return wrap(err)
		}
		present, err := r.bit()
		if err != nil {
			return wrap(err)
		}
		if present == 1 {
			n := 8
			if cf == 3 {
				n = 12
			}
			for i := range n {
				p, err := r.bit()
				if err != nil {
					return wrap(err)
				}
				if p == 1 {
					size := 16
					if i >= 6 {
						size = 64
					}
					if err := skipScalingList(r, size); err != nil {
						return wrap(err)
					}
				}
			}
		}
	}
	if _, err := r.ue(); err != nil { // log2_max_frame_num_minus4
		return wrap(err)
	}
	pocType, err := r.ue()
	if err != nil {
		return wrap(err)
	}
	switch pocType {
	case 0:
		if _, err := r.ue(); err != nil {
			return wrap(err)
		}
	case 1:
		if _, err := r.bit(); err != nil {
			return wrap(err)
		}
		if _, err := r.se(); err != nil {
			return wrap(err)
		}
		if _, err := r.se(); err != nil {
			return wrap(err)
		}
		n, err := r.ue()
		if err != nil {
			return wrap(err)
		}
		if n > 255 {
			return wrap(fmt.Errorf("%d reference frames in a POC cycle", n))
		}
		for range n {
			if _, err := r.se(); err != nil {
				return wrap(err)
			}
		}
	case 2:
	default:
		return wrap(fmt.Errorf("pic_order_cnt_type %d", pocType))
	}
	if _, err := r.ue(); err != nil { // max_num_ref_frames
		return wrap(err)
	}
	if _, err := r.bit(); err != nil { // gaps_in_frame_num_value_allowed_flag
		return wrap(err)
	}
	wmbs, err := r.ue()
	if err != nil {
		return wrap(err)
	}
	hmaps, err := r.ue()
	if err != nil {
		return wrap(err)
	}
	frameMbsOnly, err := r.bit()
	if err != nil {
		return wrap(err)
	}
	if frameMbsOnly == 0 {
		if _, err := r.bit(); err != nil { // mb_adaptive_frame_field_flag
			return wrap(err)
		}
	}
	if _, err := r.bit(); err != nil { // direct_8x8_inference_flag
		return wrap(err)
	}
	if wmbs >= MaxPictureSide/16 || hmaps >= MaxPictureSide/16 {
		return wrap(fmt.Errorf("picture of %dx%d macroblocks", wmbs+1, hmaps+1))
	}
	width := int(wmbs+1) * 16
	height := int(2-frameMbsOnly) * int(hmaps+1) * 16
	crop, err := r.bit()
	if err != nil {
		return wrap(err)
	}
	if crop == 1 {
		var c [4]uint
		for i := range c {
			if c[i], err = r.ue(); err != nil {
				return wrap(err)
			}
		}
		cropX, cropY := 1, 2-int(frameMbsOnly)
		if s.ChromaFormat != 0 && separateColour == 0 {
			subW, subH := 2, 2
			switch s.ChromaFormat {
			case 2:
				subH = 1
			case 3:
				subW, subH = 1, 1
			}
			cropX, cropY = subW, subH*(2-int(frameMbsOnly))
		}
		if c[0] > MaxPictureSide || c[1] > MaxPictureSide || c[2] > MaxPictureSide || c[3] > MaxPictureSide {
			return wrap(fmt.Errorf("cropping %v", c))
		}
		width -= cropX * int(c[0]+c[1])
		height -= cropY * int(c[2]+c[3])
	}
	if width <= 0 || height <= 0 {
		return wrap(fmt.Errorf("cropped size %dx%d", width, height))
	}
	s.Width, s.Height = width, height
	return s, nil
}

func skipScalingList(r *bitReader, size int) error {
	last, next := 8, 8
	for range size {
		if next != 0 {
			d, err := r.se()
			if err != nil {
				return err
			}
			next = (last + d + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
	return nil
}
