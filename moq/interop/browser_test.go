package interop_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// Interop with @moq/net (a MoQ stack nobody at Tributary wrote) running in
// headless Chromium over WebTransport, against a server built from our moq
// package. Objects travel both ways and are compared byte for byte.

// The scenarios cycle through these object sizes: one byte, a small message,
// around one QUIC packet, several packets, and more than 64 KiB (several reads
// and stream frames). Objects from the browser also include an empty one,
// which @moq/net sends as length 0 with status Normal (draft-18 §10.4.3).
// Objects to the browser do not: @moq/net 0.3.4 reads a zero-length Normal
// object as the end of its group unless the subgroup header has the End of
// Group bit (its decoder's moq-rs workaround), so it would drop the rest of
// the group; docs/INTEROP.md.
const (
	browserSizes = "0,1,100,1500,5000,70000"
	goSizes      = "1,100,1500,5000,70000"
)

// browserDraft is a MoQ version to pin the browser to.
type browserDraft struct {
	alpn    string
	version wire.Version
	name    string // @moq/net's name for the negotiated version
	lib     string // "" for @moq/net 0.3.4, "0.2" for 0.2.8 (what @moq/watch 0.4 uses)
}

// label names a subtest.
func (d browserDraft) label() string {
	l := d.alpn
	if l == "" {
		l = "offered"
	}
	if d.lib != "" {
		l += "/net-" + d.lib
	}
	return l
}

// watchDraft is @moq/net 0.2.8, the version the @moq/watch player (0.4)
// bundles, on the draft it prefers.
var watchDraft = browserDraft{"moqt-19", wire.Draft19, "moq-transport-19", "0.2"}

// withWatch returns drafts plus watchDraft.
func withWatch(drafts ...browserDraft) []browserDraft {
	return append(append([]browserDraft{}, drafts...), watchDraft)
}

var browserDrafts = []browserDraft{
	{"moqt-18", wire.Draft18, "moq-transport-18", ""},
	{"moqt-19", wire.Draft19, "moq-transport-19", ""},
}

// startServer runs a moq.Server on loopback UDP with a development
// certificate and returns its port and the certificate's hex hash.
func startServer(t *testing.T, cfg *moq.Config) (port int, hash string, srv *moq.Server) {
	t.Helper()
	cert, h, err := moq.DevCert("127.0.0.1", "localhost")
	if err != nil {
		t.Fatalf("DevCert: %v", err)
	}
	srv = &moq.Server{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, Config: cfg}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return addr.(*net.UDPAddr).Port, fmt.Sprintf("%x", h), srv
}

// TestBrowserPublishesToGo: @moq/net in Chromium announces a namespace and
// publishes groups; a Go subscriber on the server side receives every object
// byte-exact.
//
// In the "early" variants the browser's track already holds group 0 when the
// SUBSCRIBE arrives (@moq/net sends no LARGEST_OBJECT before draft 20 even
// then, and serves the cached group whole).
func TestBrowserPublishesToGo(t *testing.T) {
	for _, d := range withWatch(browserDrafts...) {
		for _, early := range []bool{false, true} {
			name := d.label()
			if early {
				name += "/early"
			}
			t.Run(name, func(t *testing.T) {
				testBrowserPublishes(t, d, early)
			})
		}
	}
}

// testBrowserPublishes runs one TestBrowserPublishesToGo variant.
func testBrowserPublishes(t *testing.T, d browserDraft, early bool) {
	const groups, objects, seed = 3, 5, 1234
	type announce struct {
		s  *moq.Session
		ns wire.Namespace
	}
	announced := make(chan announce, 1)
	port, hash, _ := startServer(t, &moq.Config{
		OnPublishNamespace: func(ctx context.Context, s *moq.Session, ns wire.Namespace) error {
			select {
			case announced <- announce{s, ns}:
			default:
			}
			return nil
		},
	})
	peer := startBrowser(t, url.Values{
		"url":     {fmt.Sprintf("https://127.0.0.1:%d/interop", port)},
		"hash":    {hash},
		"alpn":    {d.alpn},
		"lib":     {d.lib},
		"mode":    {"publish"},
		"ns":      {"tributary/interop/browser"},
		"track":   {"data"},
		"groups":  {strconv.Itoa(groups)},
		"objects": {strconv.Itoa(objects)},
		"sizes":   {browserSizes},
		"seed":    {strconv.Itoa(seed)},
		"early":   {map[bool]string{false: "0", true: "1"}[early]},
		"timeout": {"20000"},
	})

	var a announce
	select {
	case a = <-announced:
	case res := <-peer.results:
		res.logTo(t)
		t.Fatalf("browser finished before announcing: %s", res.Error)
	case <-time.After(20 * time.Second):
		t.Fatalf("no PUBLISH_NAMESPACE from the browser within 20s; chromium output:\n%s", peer.output())
	}
	if got, want := a.ns.String(), wire.NewNamespace("tributary", "interop", "browser").String(); got != want {
		t.Errorf("announced namespace %s, want %s", got, want)
	}
	if a.s.Version() != d.version {
		t.Errorf("session version %v, want %v", a.s.Version(), d.version)
	}
	if a.s.Transport() != "webtransport" {
		t.Errorf("transport %q, want webtransport", a.s.Transport())
	}
	t.Logf("peer implementation: %q", a.s.PeerImplementation())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// TRACK_STATUS (draft-18 §9.19): @moq/net answers REQUEST_OK.
	if _, err := a.s.TrackStatus(ctx, wire.FullTrackName{Namespace: a.ns, Name: []byte("data")}, nil); err != nil {
		t.Errorf("TRACK_STATUS to the browser: %v", err)
	}
	// The default 2-group cache: @moq/net sends all 3 groups on parallel
	// streams, so group 0 leaves the cache while it may still be arriving.
	sub, err := a.s.Subscribe(ctx, wire.FullTrackName{Namespace: a.ns, Name: []byte("data")}, nil)
	if err != nil {
		t.Fatalf("Subscribe to the browser's track: %v", err)
	}
	defer sub.Close()
	if l, ok := sub.Largest(); ok {
		t.Logf("SUBSCRIBE_OK LARGEST_OBJECT %d/%d", l.Group, l.Object)
	}
	start := uint64(0)
	r := sub.Track().Reader(&moq.ReaderOptions{Start: &start})
	defer r.Close()

	got, err := readObjects(ctx, r, groups*objects)
	if err != nil {
		peer.logNext(t, 12*time.Second)
		t.Fatal(err)
	}
	res := peer.waitPhase("written", 20*time.Second)
	if !res.OK {
		res.logTo(t)
		t.Fatalf("browser publish failed: %s", res.Error)
	}
	if res.Version != d.name {
		t.Errorf("browser negotiated %q, want %q", res.Version, d.name)
	}
	if len(res.Sent) != groups*objects {
		t.Fatalf("browser reports %d objects sent, want %d", len(res.Sent), groups*objects)
	}
	checkObjects(t, got, res.Sent, seed)

	// @moq/net stamps every frame: a Timestamp object property (0x10, as in
	// LOC, draft-ietf-moq-loc §2.3.1.1) in the units of the Timescale track
	// property (0x08) of its SUBSCRIBE_OK.
	scale, ok := sub.Properties().Uint(0x08)
	if !ok || scale == 0 {
		t.Errorf("SUBSCRIBE_OK track properties %v carry no Timescale (0x08)", sub.Properties())
	}
	var last uint64
	for _, o := range got {
		ts, ok := o.Properties.Uint(0x10)
		if !ok {
			t.Errorf("object %d/%d has no Timestamp property (0x10): %v", o.Group, o.ID, o.Properties)
			break
		}
		if ts < last {
			t.Errorf("object %d/%d: timestamp %d before the previous %d", o.Group, o.ID, ts, last)
		}
		last = ts
	}
	t.Logf("timescale %d, last timestamp %d", scale, last)
}

// TestGoPublishesToBrowser: a track published by the server is subscribed to
// by @moq/net in Chromium, which receives every object byte-exact.
// The "offered" variant lets @moq/net offer its whole list (moq-lite, moqt-20
// .. moqt-15): the server must pick moqt-19.
func TestGoPublishesToBrowser(t *testing.T) {
	for _, d := range withWatch(append(browserDrafts, browserDraft{"", wire.Draft19, "moq-transport-19", ""})...) {
		t.Run(d.label(), func(t *testing.T) {
			const groups, objects, seed = 3, 5, 4321
			name := wire.FullTrackName{Namespace: wire.NewNamespace("tributary", "interop", "go"), Name: []byte("data")}
			// LOC timing (draft-ietf-moq-loc §2.3.1): a Timescale track
			// property and a Timestamp on every object, which @moq/net reads.
			var trackProps wire.Properties
			trackProps.SetUint(0x08, 90000)
			track, w := moq.NewTrack(name, &moq.TrackConfig{MaxGroups: 2 * groups, Properties: trackProps})
			requested := make(chan *moq.Session, 1)
			port, hash, _ := startServer(t, &moq.Config{
				Tracks: moq.TrackSourceFunc(func(ctx context.Context, s *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
					if req.Name.Namespace.String() != name.Namespace.String() || !bytes.Equal(req.Name.Name, name.Name) {
						return nil, &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: "no such track"}
					}
					select {
					case requested <- s:
					default:
					}
					return track, nil
				}),
			})
			peer := startBrowser(t, url.Values{
				"url":     {fmt.Sprintf("https://127.0.0.1:%d/interop", port)},
				"hash":    {hash},
				"alpn":    {d.alpn},
				"lib":     {d.lib},
				"mode":    {"subscribe"},
				"ns":      {"tributary/interop/go"},
				"track":   {"data"},
				"groups":  {strconv.Itoa(groups)},
				"objects": {strconv.Itoa(objects)},
				"timeout": {"20000"},
			})
			var s *moq.Session
			select {
			case s = <-requested:
			case res := <-peer.results:
				res.logTo(t)
				t.Fatalf("browser finished before subscribing: %s", res.Error)
			case <-time.After(20 * time.Second):
				t.Fatalf("no SUBSCRIBE from the browser within 20s; chromium output:\n%s", peer.output())
			}
			if s.Version() != d.version {
				t.Errorf("session version %v, want %v", s.Version(), d.version)
			}
			// The lookup runs before the subscription takes its start: write
			// only once it reads the track, or it would start mid-group
			// (which @moq/net 0.2.8 cannot take: "object ID delta").
			waitReaders(t, track)
			var sent []browserObject
			sizes := strings.Split(goSizes, ",")
			n := 0
			for g := 0; g < groups; g++ {
				gw, err := w.AppendGroup()
				if err != nil {
					t.Fatalf("AppendGroup: %v", err)
				}
				for o := 0; o < objects; o++ {
					size, _ := strconv.Atoi(sizes[n%len(sizes)])
					n++
					var props wire.Properties
					props.SetUint(0x10, 3000*uint64(n)) // 1/30 s apart at 90 kHz
					if err := gw.WriteObject(payload(seed, gw.ID(), uint64(o), size), props); err != nil {
						t.Fatalf("WriteObject: %v", err)
					}
					sent = append(sent, browserObject{Group: gw.ID(), Object: uint64(o), Size: size})
				}
				gw.Close()
			}
			res := peer.waitPhase("done", 25*time.Second)
			if !res.OK {
				res.logTo(t)
				t.Fatalf("browser subscribe failed: %s", res.Error)
			}
			if res.Version != d.name {
				t.Errorf("browser negotiated %q, want %q", res.Version, d.name)
			}
			got := make([]moq.Object, 0, len(res.Received))
			for _, o := range res.Received {
				got = append(got, moq.Object{Group: o.Group, ID: o.Object, Payload: o.Data})
			}
			if !checkObjects(t, got, sent, seed) {
				res.logTo(t)
			}
			for i, o := range res.Received {
				if o.Scale != 90000 || o.TS != float64(3000*(i+1)) {
					t.Errorf("object %d/%d: browser timestamp %v at scale %v, want %d at 90000", o.Group, o.Object, o.TS, o.Scale, 3000*(i+1))
					break
				}
			}
			w.Close(nil)
		})
	}
}

// readObjects reads n objects from r in track order.
func readObjects(ctx context.Context, r *moq.TrackReader, n int) ([]moq.Object, error) {
	var out []moq.Object
	for len(out) < n {
		g, err := r.NextGroup(ctx)
		if err != nil {
			return out, fmt.Errorf("after %d of %d objects: NextGroup: %w", len(out), n, err)
		}
		for len(out) < n {
			o, err := g.ReadObject(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return out, fmt.Errorf("after %d of %d objects: ReadObject in group %d: %w", len(out), n, g.ID(), err)
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// checkObjects compares received objects with the ones sent, whose payloads
// are payload(seed, group, object, size). It reports whether all matched.
func checkObjects(t *testing.T, got []moq.Object, sent []browserObject, seed uint32) bool {
	t.Helper()
	ok := true
	if len(got) != len(sent) {
		t.Errorf("received %d objects, sent %d", len(got), len(sent))
		ok = false
	}
	for i := 0; i < len(got) && i < len(sent); i++ {
		g, s := got[i], sent[i]
		want := payload(seed, s.Group, s.Object, s.Size)
		if g.Group != s.Group || g.ID != s.Object {
			t.Errorf("object %d: at %d/%d, want %d/%d", i, g.Group, g.ID, s.Group, s.Object)
			ok = false
			continue
		}
		if !bytes.Equal(g.Payload, want) {
			t.Errorf("object %d/%d: payload differs: got %d bytes %x..., want %d bytes %x...",
				g.Group, g.ID, len(g.Payload), head(g.Payload), len(want), head(want))
			ok = false
		}
	}
	return ok
}

func head(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

// TestBrowserJoinsMidGroup: @moq/net subscribes while the server's track is
// in the middle of group 0. Before draft 20 it asks for the next object
// (draft-18 §5.1.2), so the server sends the rest of group 0 from object 3
// with the FIRST_OBJECT bit clear (§10.4.2); @moq/net drops such a partial
// group, and must then receive groups 1 and 2 whole and byte-exact. This is a
// viewer opening a live stream.
//
// @moq/net 0.3.4 reads LARGEST_OBJECT (0x09) as length-prefixed bytes, while
// drafts 18 and 19 (§9.2 Message Parameters) encode it as a bare Location;
// on our spec-conformant "09 00 02" it failed with "buffer is empty". The moq
// package now sends @moq/net (MOQT IMPLEMENTATION moq-lite-js) no
// LARGEST_OBJECT, which this test keeps honest; docs/INTEROP.md.
func TestBrowserJoinsMidGroup(t *testing.T) {
	for _, d := range withWatch(browserDrafts...) {
		t.Run(d.label(), func(t *testing.T) {
			const objects, seed = 5, 99
			name := wire.FullTrackName{Namespace: wire.NewNamespace("tributary", "interop", "live"), Name: []byte("data")}
			track, w := moq.NewTrack(name, &moq.TrackConfig{MaxGroups: 4})
			sizes := strings.Split(goSizes, ",")
			write := func(gw *moq.GroupWriter, from, to int) {
				for o := from; o < to; o++ {
					size, _ := strconv.Atoi(sizes[o%len(sizes)])
					if err := gw.WriteObject(payload(seed, gw.ID(), uint64(o), size), nil); err != nil {
						t.Fatalf("WriteObject: %v", err)
					}
				}
			}
			g0, err := w.AppendGroup()
			if err != nil {
				t.Fatal(err)
			}
			write(g0, 0, 3)
			port, hash, _ := startServer(t, &moq.Config{
				Tracks: moq.TrackSourceFunc(func(ctx context.Context, s *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
					if req.Name.Namespace.String() != name.Namespace.String() {
						return nil, &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: "no such track"}
					}
					return track, nil
				}),
			})
			peer := startBrowser(t, url.Values{
				"url":     {fmt.Sprintf("https://127.0.0.1:%d/interop", port)},
				"hash":    {hash},
				"alpn":    {d.alpn},
				"lib":     {d.lib},
				"mode":    {"subscribe"},
				"ns":      {"tributary/interop/live"},
				"track":   {"data"},
				"groups":  {"2"},
				"objects": {strconv.Itoa(objects)},
				"timeout": {"20000"},
			})
			if res := peer.waitPhase("subscribed", 20*time.Second); res.Phase != "subscribed" {
				res.logTo(t)
				t.Fatalf("browser ended before SUBSCRIBE_OK: %s", res.Error)
			}
			write(g0, 3, objects)
			g0.Close()
			var sent []browserObject
			for g := 1; g <= 2; g++ {
				gw, err := w.AppendGroup()
				if err != nil {
					t.Fatal(err)
				}
				write(gw, 0, objects)
				gw.Close()
				for o := 0; o < objects; o++ {
					size, _ := strconv.Atoi(sizes[o%len(sizes)])
					sent = append(sent, browserObject{Group: gw.ID(), Object: uint64(o), Size: size})
				}
			}
			res := peer.waitPhase("done", 25*time.Second)
			if !res.OK {
				res.logTo(t)
				t.Fatalf("browser subscribe failed: %s", res.Error)
			}
			got := make([]moq.Object, 0, len(res.Received))
			for _, o := range res.Received {
				got = append(got, moq.Object{Group: o.Group, ID: o.Object, Payload: o.Data})
			}
			if !checkObjects(t, got, sent, seed) {
				res.logTo(t)
			}
			w.Close(nil)
		})
	}
}

// waitReaders waits until a subscription reads track, polling for at most 10 s.
func waitReaders(t *testing.T, track *moq.Track) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for track.Readers() == 0 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the subscription never started reading the track")
		}
	}
}
