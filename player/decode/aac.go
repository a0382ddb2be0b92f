package decode

import (
	"fmt"
	"time"

	"github.com/tributary-live/tributary/player/codec"
)

// aacDecoder feeds raw AAC frames to libavcodec. It takes the
// AudioSpecificConfig from the catalog, or builds it from the first ADTS
// header, and strips ADTS headers from the frames.
type aacDecoder struct {
	av          *avAudio
	rate, chans int
	asc         []byte
}

func newAAC(description []byte, rate, chans int) (AudioDecoder, error) {
	d := &aacDecoder{rate: rate, chans: chans}
	if len(description) > 0 {
		c, err := codec.ParseASC(description)
		if err != nil {
			return nil, fmt.Errorf("decode: AAC description: %w: %w", ErrBadConfig, err)
		}
		if c.ObjectType != 2 && c.ObjectType != 5 && c.ObjectType != 29 && c.ObjectType != 1 && c.ObjectType != 4 {
			return nil, fmt.Errorf("decode: AAC object type %d: %w", c.ObjectType, ErrUnsupported)
		}
		d.asc = description
		if err := d.open(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *aacDecoder) open() error {
	av, err := openAudio("aac", d.asc)
	if err != nil {
		return err
	}
	d.av = av
	return nil
}

// Decode implements AudioDecoder.
func (d *aacDecoder) Decode(frame []byte, ts time.Duration) ([]AudioFrame, error) {
	raw := [][]byte{frame}
	if len(frame) >= 7 && frame[0] == 0xff && frame[1]&0xf6 == 0xf0 {
		if frames, _, err := codec.SplitADTS(frame); err == nil && len(frames) > 0 {
			raw = frames
			if d.av == nil {
				h, _ := codec.ParseADTS(frame)
				d.asc = h.ASC()
			}
		}
	}
	if d.av == nil {
		if d.asc == nil {
			d.asc = defaultASC(d.rate, d.chans)
		}
		if err := d.open(); err != nil {
			return nil, err
		}
	}
	var out []AudioFrame
	for i, r := range raw {
		// Frames after the first of an ADTS run follow at 1024 samples each.
		t := ts
		if i > 0 && d.rate > 0 {
			t += time.Duration(i) * 1024 * time.Second / time.Duration(d.rate)
		}
		pcm, err := d.av.decodeRaw(r, t)
		if err != nil {
			return out, err
		}
		out = append(out, pcm...)
	}
	return out, nil
}

// defaultASC describes AAC LC at the catalog's rate and channel count (48 kHz stereo if unknown).
func defaultASC(rate, chans int) []byte {
	idx := 3
	for i, r := range []int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350} {
		if r == rate {
			idx = i
		}
	}
	if chans <= 0 || chans > 7 {
		chans = 2
	}
	return []byte{2<<3 | byte(idx>>1), byte(idx&1)<<7 | byte(chans)<<3}
}

// Codec implements AudioDecoder.
func (d *aacDecoder) Codec() string {
	if d.av == nil {
		return "aac"
	}
	return d.av.codec()
}

// Close implements AudioDecoder.
func (d *aacDecoder) Close() error {
	if d.av != nil {
		d.av.close()
	}
	return nil
}
