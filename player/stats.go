package player

import (
	"slices"
	"sync"
	"time"
)

// Stats are the player's figures, as the stats overlay and `tributary play
// --stats` show them.
type Stats struct {
	// Latency is glass-to-glass latency (LOC capture timestamp to the moment
	// a frame is presented) over the last LatencyWindow frames.
	Latency Percentiles `json:"latency_ms"`
	// Frames counts video frames presented.
	Frames int64 `json:"frames"`
	// Dropped counts video frames not presented: late, undecodable or skipped.
	Dropped int64 `json:"dropped"`
	// Late counts frames dropped because they were past their time.
	Late int64 `json:"late"`
	// Skipped counts frames the jitter buffer skipped to catch up.
	Skipped int64 `json:"skipped"`
	// DecodeErrors counts frames the decoder rejected.
	DecodeErrors int64 `json:"decode_errors"`
	// Stalls counts times video stopped for want of frames.
	Stalls int64 `json:"stalls"`
	// DecodeMS is the time decoding a video frame takes, smoothed over the
	// last frames (each adds 1/16 of its difference): near the frame
	// interval the machine cannot keep up, and pictures are dropped late.
	DecodeMS float64 `json:"decode_ms"`
	// AudioFrames counts audio frames played.
	AudioFrames int64 `json:"audio_frames"`
	// AudioUnderruns counts times the sound card found no audio queued.
	AudioUnderruns int64 `json:"audio_underruns"`
	// Bitrate is the received media bitrate in bits per second over the last second.
	Bitrate float64 `json:"bitrate"`
	// JitterMS is the smoothed inter-arrival jitter of the video track.
	JitterMS float64 `json:"jitter_ms"`
	// TargetMS and DelayMS are the jitter buffer's target and current delay.
	TargetMS float64 `json:"target_ms"`
	DelayMS  float64 `json:"delay_ms"`
	// RTTMS is the round-trip time to the relay (a TRACK_STATUS request and
	// its answer, measured every 2 s; 0 before the first).
	RTTMS float64 `json:"rtt_ms"`
	// AVOffsetMS is the last measured video-minus-audio clock offset at presentation.
	AVOffsetMS float64 `json:"av_offset_ms"`
	// Width, Height and VideoCodec describe the video.
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	VideoCodec string `json:"video_codec,omitempty"`
	// AudioCodec names the audio codec.
	AudioCodec string `json:"audio_codec,omitempty"`
	// Clock is "audio" when video follows the sound card, "wall" otherwise.
	Clock string `json:"clock"`
	// AudioError is why there is no sound, if there is none.
	AudioError string `json:"audio_error,omitempty"`
	// JoinMS is the time from the start to the first presented frame.
	JoinMS float64 `json:"join_ms"`
	// LiveMS is the time from the start to the first presented frame that
	// was published after the player subscribed: the end of the join's
	// catch-up, during which the joined group's cached frames that are too
	// old for the target are decoded and not shown (the first is shown at
	// once). Equal to JoinMS when the join picture was already live.
	LiveMS float64 `json:"live_ms"`
}

// Percentiles are latency percentiles in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// LatencyWindow is the number of latency samples the percentiles cover.
const LatencyWindow = 600

// stats collects figures from the player's goroutines.
type stats struct {
	mu      sync.Mutex
	s       Stats
	lat     []float64 // ring of latency samples, ms
	latNext int
	bytes   []byteSample
	stalled bool
}

type byteSample struct {
	at time.Time
	n  int
}

func (st *stats) latency(ms float64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.lat) < LatencyWindow {
		st.lat = append(st.lat, ms)
		return
	}
	st.lat[st.latNext] = ms
	st.latNext = (st.latNext + 1) % LatencyWindow
}

func (st *stats) received(now time.Time, n int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.bytes = append(st.bytes, byteSample{now, n})
	cut := 0
	for cut < len(st.bytes) && now.Sub(st.bytes[cut].at) > time.Second {
		cut++
	}
	if cut > 0 {
		st.bytes = slices.Delete(st.bytes, 0, cut)
	}
}

func (st *stats) update(f func(s *Stats)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	f(&st.s)
}

// snapshot returns the figures as of now.
func (st *stats) snapshot(now time.Time) Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.s
	if len(st.lat) > 0 {
		sorted := slices.Clone(st.lat)
		slices.Sort(sorted)
		pick := func(p float64) float64 {
			i := int(p*float64(len(sorted))+0.5) - 1
			return sorted[min(max(i, 0), len(sorted)-1)]
		}
		s.Latency = Percentiles{P50: pick(0.50), P95: pick(0.95), P99: pick(0.99)}
	}
	total := 0
	for _, b := range st.bytes {
		if now.Sub(b.at) <= time.Second {
			total += b.n
		}
	}
	s.Bitrate = float64(total * 8)
	return s
}
