//go:build cgo && !noffmpeg

package decode

/*
#cgo pkg-config: libavcodec libavutil libswscale
#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <libavutil/samplefmt.h>
#include <libswscale/swscale.h>

// The binding uses only calls that are unchanged from FFmpeg 4 to 8:
// avcodec_find_decoder(_by_name), avcodec_alloc_context3, avcodec_open2,
// avcodec_send_packet, avcodec_receive_frame, av_frame_*, av_packet_*,
// sws_getContext/sws_scale. The one field that moved (the channel count,
// into ch_layout in libavutil 57.24) is read through tdec_channels.

typedef struct {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *frame;
	struct SwsContext *sws;
	AVFrame *conv;
} tdec;

static int tdec_open(tdec *d, const char *name, int id, const uint8_t *extra, int extra_len, int threads) {
	const AVCodec *codec = NULL;
	if (name != NULL) codec = avcodec_find_decoder_by_name(name);
	if (codec == NULL && id >= 0) codec = avcodec_find_decoder((enum AVCodecID)id);
	if (codec == NULL) return AVERROR_DECODER_NOT_FOUND;
	d->ctx = avcodec_alloc_context3(codec);
	if (d->ctx == NULL) return AVERROR(ENOMEM);
	if (extra_len > 0) {
		d->ctx->extradata = av_mallocz(extra_len + AV_INPUT_BUFFER_PADDING_SIZE);
		if (d->ctx->extradata == NULL) return AVERROR(ENOMEM);
		memcpy(d->ctx->extradata, extra, extra_len);
		d->ctx->extradata_size = extra_len;
	}
	d->ctx->thread_count = threads;
	d->ctx->thread_type = FF_THREAD_SLICE;
	d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	int err = avcodec_open2(d->ctx, codec, NULL);
	if (err < 0) return err;
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
	if (d->pkt == NULL || d->frame == NULL) return AVERROR(ENOMEM);
	return 0;
}

static void tdec_close(tdec *d) {
	if (d->ctx) avcodec_free_context(&d->ctx);
	if (d->pkt) av_packet_free(&d->pkt);
	if (d->frame) av_frame_free(&d->frame);
	if (d->conv) av_frame_free(&d->conv);
	if (d->sws) sws_freeContext(d->sws);
	d->sws = NULL;
}

static const char *tdec_name(tdec *d) { return d->ctx->codec->name; }

static int tdec_send(tdec *d, const uint8_t *data, int len, int64_t pts) {
	int err = av_new_packet(d->pkt, len);
	if (err < 0) return err;
	memcpy(d->pkt->data, data, len);
	d->pkt->pts = pts;
	d->pkt->dts = pts;
	err = avcodec_send_packet(d->ctx, d->pkt);
	av_packet_unref(d->pkt);
	return err;
}

static int tdec_receive(tdec *d) { return avcodec_receive_frame(d->ctx, d->frame); }

static int tdec_channels(tdec *d) {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 24, 100)
	return d->frame->ch_layout.nb_channels;
#else
	return d->frame->channels;
#endif
}

static int64_t tdec_pts(tdec *d) {
	if (d->frame->best_effort_timestamp != AV_NOPTS_VALUE) return d->frame->best_effort_timestamp;
	return d->frame->pts;
}

// tdec_to_yuv420 converts the current frame to 8-bit 4:2:0 into d->conv.
static int tdec_to_yuv420(tdec *d) {
	AVFrame *f = d->frame;
	d->sws = sws_getCachedContext(d->sws, f->width, f->height, (enum AVPixelFormat)f->format,
		f->width, f->height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
	if (d->sws == NULL) return AVERROR(EINVAL);
	if (d->conv == NULL) d->conv = av_frame_alloc();
	if (d->conv == NULL) return AVERROR(ENOMEM);
	if (d->conv->width != f->width || d->conv->height != f->height || d->conv->data[0] == NULL) {
		av_frame_unref(d->conv);
		d->conv->format = AV_PIX_FMT_YUV420P;
		d->conv->width = f->width;
		d->conv->height = f->height;
		int err = av_frame_get_buffer(d->conv, 0);
		if (err < 0) return err;
	}
	sws_scale(d->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, d->conv->data, d->conv->linesize);
	return 0;
}

static AVFrame *tdec_frame(tdec *d) { return d->frame; }
static AVFrame *tdec_conv(tdec *d) { return d->conv; }
static uint8_t *frame_data(AVFrame *f, int i) { return f->data[i]; }
static int frame_linesize(AVFrame *f, int i) { return f->linesize[i]; }

static void tdec_quiet(void) { av_log_set_level(AV_LOG_QUIET); }

static int err_again(void) { return AVERROR(EAGAIN); }
static int err_eof(void) { return AVERROR_EOF; }
static int err_invalid(void) { return AVERROR_INVALIDDATA; }
static int err_notfound(void) { return AVERROR_DECODER_NOT_FOUND; }
*/
import "C"

import (
	"fmt"
	"image"
	"os"
	"sync"
	"time"
	"unsafe"
)

var quietOnce sync.Once

// avDecoder is one libavcodec decoder context.
type avDecoder struct {
	d      C.tdec
	name   string
	open   bool
	frames int
	seq    int64
	ts     [64]time.Duration // media timestamps by packet sequence number
}

// Engine names the decoding engine and its version, for logs and docs.
func Engine() string {
	v := uint32(C.avcodec_version())
	return fmt.Sprintf("libavcodec %d.%d.%d", v>>16, (v>>8)&0xff, v&0xff)
}

// codecIDs maps families to libavcodec codec ids and preferred decoder names.
func codecIDs(family string) (C.int, string) {
	switch family {
	case "h264":
		return C.AV_CODEC_ID_H264, ""
	case "hevc":
		return C.AV_CODEC_ID_HEVC, ""
	case "vp8":
		return C.AV_CODEC_ID_VP8, ""
	case "vp9":
		return C.AV_CODEC_ID_VP9, ""
	case "av1":
		// The native av1 decoder needs a hardware accelerator; dav1d decodes in software.
		return C.AV_CODEC_ID_AV1, "libdav1d"
	case "aac":
		return C.AV_CODEC_ID_AAC, ""
	}
	return -1, ""
}

func openAV(family string, extradata []byte, threads int) (*avDecoder, error) {
	quietOnce.Do(func() {
		if os.Getenv("TRIBUTARY_AVLOG") == "" {
			C.tdec_quiet()
		}
	})
	id, name := codecIDs(family)
	if id < 0 {
		return nil, fmt.Errorf("decode: %s: %w", family, ErrUnsupported)
	}
	a := &avDecoder{}
	var cname *C.char
	if name != "" {
		cname = C.CString(name)
		defer C.free(unsafe.Pointer(cname))
	}
	var extra *C.uint8_t
	if len(extradata) > 0 {
		extra = (*C.uint8_t)(C.CBytes(extradata))
		defer C.free(unsafe.Pointer(extra))
	}
	if rc := C.tdec_open(&a.d, cname, id, extra, C.int(len(extradata)), C.int(threads)); rc < 0 {
		C.tdec_close(&a.d)
		if rc == C.err_notfound() {
			return nil, fmt.Errorf("decode: no libavcodec decoder for %s: %w", family, ErrUnsupported)
		}
		if rc == C.err_invalid() {
			return nil, fmt.Errorf("decode: %s: %w: %s", family, ErrBadConfig, averr(rc))
		}
		return nil, fmt.Errorf("decode: opening %s decoder: %s", family, averr(rc))
	}
	a.open = true
	a.name = C.GoString(C.tdec_name(&a.d))
	return a, nil
}

func averr(rc C.int) string {
	buf := make([]byte, 128)
	C.av_strerror(rc, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	for i, c := range buf {
		if c == 0 {
			return string(buf[:i])
		}
	}
	return string(buf)
}

// send gives one packet to the decoder; receive is called for each frame
// that comes out.
func (a *avDecoder) send(data []byte, ts time.Duration, receive func() error) error {
	if !a.open {
		return ErrClosed
	}
	if len(data) == 0 {
		return fmt.Errorf("decode: empty frame: %w", ErrCorrupt)
	}
	if len(data) > MaxFrameBytes {
		return fmt.Errorf("decode: frame of %d bytes: %w", len(data), ErrCorrupt)
	}
	// The packet carries a sequence number as its pts, so the frame's exact
	// timestamp is found again whatever the decoder's time base.
	a.seq++
	a.ts[a.seq%int64(len(a.ts))] = ts
	rc := C.tdec_send(&a.d, (*C.uint8_t)(unsafe.Pointer(&data[0])), C.int(len(data)), C.int64_t(a.seq))
	var sendErr error
	if rc < 0 && rc != C.err_again() {
		sendErr = fmt.Errorf("decode: %s: %w: %s", a.name, ErrCorrupt, averr(rc))
	}
	for range 64 {
		rc := C.tdec_receive(&a.d)
		if rc == C.err_again() || rc == C.err_eof() {
			break
		}
		if rc < 0 {
			if sendErr == nil {
				sendErr = fmt.Errorf("decode: %s: %w: %s", a.name, ErrCorrupt, averr(rc))
			}
			break
		}
		a.frames++
		if err := receive(); err != nil && sendErr == nil {
			sendErr = err
		}
	}
	return sendErr
}

func (a *avDecoder) pts() time.Duration {
	seq := int64(C.tdec_pts(&a.d))
	if seq <= 0 || seq > a.seq || a.seq-seq >= int64(len(a.ts)) {
		return a.ts[a.seq%int64(len(a.ts))]
	}
	return a.ts[seq%int64(len(a.ts))]
}

func (a *avDecoder) close() {
	if a.open {
		C.tdec_close(&a.d)
		a.open = false
	}
}

// MaxPixels bounds the pictures a decoder hands out (8K).
const MaxPixels = 8192 * 4352

// picture copies the current frame into a Go image.
func (a *avDecoder) picture() (image.Image, error) {
	f := C.tdec_frame(&a.d)
	w, h := int(f.width), int(f.height)
	if w <= 0 || h <= 0 || w*h > MaxPixels {
		return nil, fmt.Errorf("decode: picture of %dx%d: %w", w, h, ErrCorrupt)
	}
	var ratio image.YCbCrSubsampleRatio
	switch int32(f.format) {
	case C.AV_PIX_FMT_YUV420P, C.AV_PIX_FMT_YUVJ420P:
		ratio = image.YCbCrSubsampleRatio420
	case C.AV_PIX_FMT_YUV422P, C.AV_PIX_FMT_YUVJ422P:
		ratio = image.YCbCrSubsampleRatio422
	case C.AV_PIX_FMT_YUV444P, C.AV_PIX_FMT_YUVJ444P:
		ratio = image.YCbCrSubsampleRatio444
	default:
		if rc := C.tdec_to_yuv420(&a.d); rc < 0 {
			return nil, fmt.Errorf("decode: converting pixel format %d: %s", int(f.format), averr(rc))
		}
		f = C.tdec_conv(&a.d)
		ratio = image.YCbCrSubsampleRatio420
	}
	img := image.NewYCbCr(image.Rect(0, 0, w, h), ratio)
	cw, ch := w, h
	switch ratio {
	case image.YCbCrSubsampleRatio420:
		cw, ch = (w+1)/2, (h+1)/2
	case image.YCbCrSubsampleRatio422:
		cw = (w + 1) / 2
	}
	copyPlane(img.Y, img.YStride, C.frame_data(f, 0), int(C.frame_linesize(f, 0)), w, h)
	copyPlane(img.Cb, img.CStride, C.frame_data(f, 1), int(C.frame_linesize(f, 1)), cw, ch)
	copyPlane(img.Cr, img.CStride, C.frame_data(f, 2), int(C.frame_linesize(f, 2)), cw, ch)
	return img, nil
}

func copyPlane(dst []byte, dstStride int, src *C.uint8_t, srcStride, w, h int) {
	if src == nil || srcStride < w {
		return
	}
	s := unsafe.Slice((*byte)(unsafe.Pointer(src)), srcStride*(h-1)+w)
	for y := range h {
		copy(dst[y*dstStride:y*dstStride+w], s[y*srcStride:y*srcStride+w])
	}
}

// pcm converts the current audio frame to interleaved float32.
func (a *avDecoder) pcm() (AudioFrame, error) {
	f := C.tdec_frame(&a.d)
	n := int(f.nb_samples)
	chans := int(C.tdec_channels(&a.d))
	rate := int(f.sample_rate)
	if n <= 0 || chans <= 0 || chans > 8 || n > 1<<16 {
		return AudioFrame{}, fmt.Errorf("decode: audio frame of %d samples, %d channels: %w", n, chans, ErrCorrupt)
	}
	out := make([]float32, n*chans)
	planar := C.av_sample_fmt_is_planar(int32(f.format)) != 0
	for c := range chans {
		plane := 0
		if planar {
			plane = c
		}
		p := unsafe.Pointer(C.frame_data(f, C.int(plane)))
		if p == nil {
			return AudioFrame{}, fmt.Errorf("decode: audio plane %d missing: %w", plane, ErrCorrupt)
		}
		idx := func(i int) int { // sample index within the plane
			if planar {
				return i
			}
			return i*chans + c
		}
		total := n
		if !planar {
			total = n * chans
		}
		switch int32(f.format) {
		case C.AV_SAMPLE_FMT_FLT, C.AV_SAMPLE_FMT_FLTP:
			s := unsafe.Slice((*float32)(p), total)
			for i := range n {
				out[i*chans+c] = s[idx(i)]
			}
		case C.AV_SAMPLE_FMT_S16, C.AV_SAMPLE_FMT_S16P:
			s := unsafe.Slice((*int16)(p), total)
			for i := range n {
				out[i*chans+c] = float32(s[idx(i)]) / 32768
			}
		case C.AV_SAMPLE_FMT_S32, C.AV_SAMPLE_FMT_S32P:
			s := unsafe.Slice((*int32)(p), total)
			for i := range n {
				out[i*chans+c] = float32(float64(s[idx(i)]) / 2147483648)
			}
		case C.AV_SAMPLE_FMT_DBL, C.AV_SAMPLE_FMT_DBLP:
			s := unsafe.Slice((*float64)(p), total)
			for i := range n {
				out[i*chans+c] = float32(s[idx(i)])
			}
		default:
			return AudioFrame{}, fmt.Errorf("decode: sample format %d: %w", int(f.format), ErrUnsupported)
		}
	}
	return AudioFrame{Samples: out, Channels: chans, SampleRate: rate, Timestamp: a.pts()}, nil
}

// avVideo is a libavcodec video decoder.
type avVideo struct {
	av  *avDecoder
	out []VideoFrame
}

func newVideo(family string, description []byte) (*avVideo, error) {
	av, err := openAV(family, description, 1)
	if err != nil {
		return nil, err
	}
	return &avVideo{av: av}, nil
}

// Decode implements VideoDecoder.
func (v *avVideo) Decode(au []byte, ts time.Duration) ([]VideoFrame, error) {
	v.out = nil
	err := v.av.send(au, ts, func() error {
		img, err := v.av.picture()
		if err != nil {
			return err
		}
		v.out = append(v.out, VideoFrame{Image: img, Timestamp: v.av.pts()})
		return nil
	})
	return v.out, err
}

// Codec implements VideoDecoder.
func (v *avVideo) Codec() string { return v.av.name + " (" + Engine() + ")" }

// Close implements VideoDecoder.
func (v *avVideo) Close() error { v.av.close(); return nil }

// avAudio is a libavcodec audio decoder.
type avAudio struct {
	av  *avDecoder
	out []AudioFrame
}

func openAudio(family string, extradata []byte) (*avAudio, error) {
	av, err := openAV(family, extradata, 1)
	if err != nil {
		return nil, err
	}
	return &avAudio{av: av}, nil
}

func (a *avAudio) decodeRaw(frame []byte, ts time.Duration) ([]AudioFrame, error) {
	a.out = nil
	err := a.av.send(frame, ts, func() error {
		pcm, err := a.av.pcm()
		if err != nil {
			return err
		}
		a.out = append(a.out, pcm)
		return nil
	})
	return a.out, err
}

func (a *avAudio) codec() string { return a.av.name + " (" + Engine() + ")" }

func (a *avAudio) close() { a.av.close() }
