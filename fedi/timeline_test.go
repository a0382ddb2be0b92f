package fedi

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"

	"github.com/tributary-live/tributary/fedi/internal/safehttp"
	"github.com/tributary-live/tributary/fedi/livepost"
)

var t0 = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)

const localHost = "gts.example"

// ann is alice's announcement of broadcast alice/<broadcast> in post id on
// the viewer's own server, posted at t0+at.
func ann(id, broadcast string, at time.Duration) *mastodon.Status {
	watch := "https://relay.example/watch/alice/" + broadcast
	return &mastodon.Status{
		ID:        mastodon.ID(id),
		URI:       "https://" + localHost + "/users/alice/statuses/" + id,
		URL:       "https://" + localHost + "/@alice/statuses/" + id,
		CreatedAt: t0.Add(at),
		Content:   "<p>" + livepost.FormatAnnouncement("Synths", watch) + "</p>",
		Tags:      []mastodon.Tag{{Name: "live"}, {Name: livepost.Hashtag}},
		Account:   mastodon.Account{Acct: "alice", DisplayName: "Alice", URL: "https://" + localHost + "/@alice"},
	}
}

// endedEdit is st edited to say its stream ended.
func endedEdit(st *mastodon.Status) *mastodon.Status {
	e := *st
	a, _ := livepost.ParseAnnouncement(livepost.HTMLToText(st.Content), []string{livepost.Hashtag})
	e.Content = "<p>" + livepost.FormatEnded("Synths", a.WatchURL) + "</p>"
	return &e
}

// retitled is st edited to another title.
func retitled(st *mastodon.Status, title string) *mastodon.Status {
	e := *st
	e.Content = strings.Replace(st.Content, "Synths", title, 1)
	return &e
}

// unannounced is st edited so that it announces nothing.
func unannounced(st *mastodon.Status) *mastodon.Status {
	e := *st
	e.Content, e.Tags = "<p>never mind</p>", nil
	return &e
}

// reblog is carol's reblog id of st.
func reblog(id string, st *mastodon.Status) *mastodon.Status {
	return &mastodon.Status{ID: mastodon.ID(id), Reblog: st, CreatedAt: st.CreatedAt, Account: mastodon.Account{Acct: "carol"}}
}

// harness drives a timeline the way Watch does, remembering the
// confirmations handed out until the test answers them.
type harness struct {
	tl   *timeline
	jobs map[string][]job // by post, oldest first
}

// event is one thing happening to a timeline.
type event struct {
	name string
	do   func(t *testing.T, h *harness, now time.Time) todo
}

func started() event {
	return event{"start", func(t *testing.T, h *harness, now time.Time) todo { return h.tl.start(now) }}
}

func up() event {
	return event{"connected", func(t *testing.T, h *harness, now time.Time) todo { return h.tl.connected(now) }}
}

func down(err error) event {
	return event{"disconnected", func(t *testing.T, h *harness, now time.Time) todo { return h.tl.disconnected(err, now) }}
}

// read is a page of the home timeline, newest first.
func read(sts ...*mastodon.Status) event {
	return event{"page", func(t *testing.T, h *harness, now time.Time) todo { return h.tl.page(sts, now) }}
}

func readFailed(err error) event {
	return event{"page failed", func(t *testing.T, h *harness, now time.Time) todo { return h.tl.fetchFailed(err, now) }}
}

// got is a post from the streaming API (update or status.update).
func got(st *mastodon.Status) event {
	return event{"update " + string(st.ID), func(t *testing.T, h *harness, now time.Time) todo { return h.tl.update(st, now) }}
}

func gone(id string) event {
	return event{"delete " + id, func(t *testing.T, h *harness, now time.Time) todo { return h.tl.deleted(id, now) }}
}

// checked answers the oldest confirmation of post key handed out: the
// stream is in state (a live stream gets a relay URL).
func checked(key string, state State) event {
	return event{"resolved " + key + " " + string(state), func(t *testing.T, h *harness, now time.Time) todo {
		t.Helper()
		if len(h.jobs[key]) == 0 {
			t.Fatalf("no confirmation of %s was handed out", key)
		}
		j := h.jobs[key][0]
		h.jobs[key] = h.jobs[key][1:]
		s := j.cand.stream
		s.State = state
		if state == StateLive {
			s.RelayURLs = []string{"moqt://relay.example/" + s.Broadcast}
		}
		return h.tl.resolved(j, s, now)
	}}
}

func tick() event {
	return event{"tick", func(t *testing.T, h *harness, now time.Time) todo { return h.tl.tick(now) }}
}

// step is an event at t0+at, the work it must give (as describe writes
// it: the todo, then "wake@" and when tick is due next, from t0) and the
// list after it (post:state, in order).
type step struct {
	at   time.Duration
	ev   event
	want string
	list string
}

// describe writes a todo and the next wake-up as a step's want.
func describe(w todo, next time.Time) string {
	var parts []string
	if w.dial {
		parts = append(parts, "dial")
	}
	if w.fetch {
		parts = append(parts, "fetch")
	}
	if len(w.resolve) > 0 {
		keys := make([]string, len(w.resolve))
		for i, j := range w.resolve {
			keys[i] = j.key
		}
		parts = append(parts, "resolve:"+strings.Join(keys, ","))
	}
	if w.publish {
		parts = append(parts, "publish")
	}
	if !next.IsZero() {
		parts = append(parts, "wake@"+next.Sub(t0).String())
	}
	return strings.Join(parts, " ")
}

func listOf(streams []LiveStream) string {
	var parts []string
	for _, s := range streams {
		parts = append(parts, s.PostID+":"+string(s.State))
	}
	return strings.Join(parts, " ")
}

// run plays steps on a timeline, checking each step's work and list and,
// after every step, the timeline's bounds.
func run(t *testing.T, cfg timelineConfig, steps []step) *harness {
	t.Helper()
	h := &harness{tl: newTimeline(cfg), jobs: map[string][]job{}}
	for i, s := range steps {
		w := s.ev.do(t, h, t0.Add(s.at))
		for _, j := range w.resolve {
			h.jobs[j.key] = append(h.jobs[j.key], j)
		}
		if got := describe(w, h.tl.next()); got != s.want {
			t.Errorf("step %d (%s at %s): work %q, want %q", i, s.ev.name, s.at, got, s.want)
		}
		if got := listOf(h.tl.snapshot().Streams); got != s.list {
			t.Errorf("step %d (%s at %s): list %q, want %q", i, s.ev.name, s.at, got, s.list)
		}
		checkBounds(t, h.tl)
	}
	return h
}

func checkBounds(t *testing.T, tl *timeline) {
	t.Helper()
	if len(tl.posts) > tl.cfg.maxTracked || len(tl.reblogs) > maxReblogs*tl.cfg.maxTracked || len(tl.queue) > len(tl.posts) ||
		tl.running < 0 || tl.running > maxResolving {
		t.Fatalf("bounds: %d posts (at most %d), %d reblog ids, %d queued, %d running", len(tl.posts), tl.cfg.maxTracked, len(tl.reblogs), len(tl.queue), tl.running)
	}
}

func TestTimeline(t *testing.T) {
	a := ann("a", "a", 0)
	b := ann("b", "b", time.Minute)
	errDown := wrap("streaming API", localHost, errors.New("connection reset"))
	errRead := newError(KindServer, "read home timeline", localHost, errors.New("HTTP 502"))
	tests := []struct {
		name  string
		max   int
		steps []step
	}{
		{
			name: "a post arrives: confirmed, listed, confirmed again a recheck later",
			steps: []step{
				{0, started(), "dial wake@5s", ""},
				{time.Second, up(), "fetch", ""},
				{2 * time.Second, read(), "publish", ""}, // the first page, empty, goes out
				{10 * time.Second, got(a), "resolve:a", ""},
				{11 * time.Second, checked("a", StateLive), "publish wake@1m11s", "a:live"},
				{71 * time.Second, tick(), "resolve:a", "a:live"},
				{72 * time.Second, checked("a", StateLive), "wake@2m12s", "a:live"}, // no change: nothing to send
				{132 * time.Second, tick(), "resolve:a", "a:live"},
				{133 * time.Second, checked("a", StateUnconfirmed), "publish wake@3m13s", "a:unconfirmed"},
			},
		},
		{
			name: "the first snapshot waits for the first page",
			steps: []step{
				{0, started(), "dial wake@5s", ""},
				{time.Second, up(), "fetch", ""},
				{2 * time.Second, got(b), "resolve:b", ""},
				{3 * time.Second, checked("b", StateLive), "wake@1m3s", "b:live"},
				{4 * time.Second, read(a), "resolve:a publish wake@1m3s", "b:live"},
			},
		},
		{
			name: "the streaming API does not answer: the timeline is read after 5 s",
			steps: []step{
				{0, started(), "dial wake@5s", ""},
				{5 * time.Second, tick(), "fetch wake@35s", ""},
				{6 * time.Second, read(a), "resolve:a publish wake@35s", ""},
				{7 * time.Second, checked("a", StateLive), "publish wake@35s", "a:live"},
				{35 * time.Second, tick(), "fetch wake@1m5s", "a:live"},
				{36 * time.Second, read(a), "wake@1m5s", "a:live"},            // the same post: nothing to do
				{40 * time.Second, up(), "fetch publish wake@1m7s", "a:live"}, // Streaming changed
				{41 * time.Second, read(a), "wake@1m7s", "a:live"},
			},
		},
		{
			name: "a deleted post is dropped, its confirmation in flight counts for nothing",
			steps: []step{
				{0, got(a), "resolve:a", ""},
				{time.Second, read(), "publish", ""},
				{2 * time.Second, checked("a", StateLive), "publish wake@1m2s", "a:live"},
				{62 * time.Second, tick(), "resolve:a", "a:live"},
				{63 * time.Second, gone("a"), "publish", ""},
				{64 * time.Second, checked("a", StateLive), "", ""},
				{65 * time.Second, gone("a"), "", ""},
			},
		},
		{
			name: "an edit to ENDED ends the stream at once; a late live answer does not bring it back",
			steps: []step{
				{0, read(a), "resolve:a publish", ""},
				{time.Second, checked("a", StateLive), "publish wake@1m1s", "a:live"},
				{61 * time.Second, tick(), "resolve:a", "a:live"},
				{62 * time.Second, got(endedEdit(a)), "publish", ""},
				{63 * time.Second, checked("a", StateLive), "", ""},
				{64 * time.Second, read(endedEdit(a)), "", ""}, // kept as ended: reading it again does nothing
				{65 * time.Second, got(a), "resolve:a", ""},    // edited back to LIVE: confirmed again
			},
		},
		{
			name: "an ENDED post ends older posts of its broadcast, whichever comes first",
			steps: []step{
				{0, read(ann("old", "x", 0)), "resolve:old publish", ""},
				{time.Second, checked("old", StateLive), "publish wake@1m1s", "old:live"},
				{2 * time.Second, got(endedEdit(ann("new", "x", time.Hour))), "publish", ""},
				{3 * time.Second, got(ann("older", "x", -time.Hour)), "", ""},
				{4 * time.Second, got(ann("newer", "x", 2*time.Hour)), "resolve:newer", ""}, // the broadcast went live again
				{5 * time.Second, checked("newer", StateLive), "publish wake@1m5s", "newer:live"},
			},
		},
		{
			name: "a page is read oldest first: an ENDED post newer than a live one of its broadcast wins",
			steps: []step{
				{0, read(endedEdit(ann("new", "x", time.Hour)), ann("old", "x", 0), a), "resolve:a publish", ""},
				{time.Second, checked("a", StateLive), "publish wake@1m1s", "a:live"},
			},
		},
		{
			name: "an edit that takes the announcement out drops the stream",
			steps: []step{
				{0, read(a), "resolve:a publish", ""},
				{time.Second, checked("a", StateLive), "publish wake@1m1s", "a:live"},
				{2 * time.Second, got(unannounced(a)), "publish", ""},
			},
		},
		{
			name: "a new title is confirmed again; the listing keeps the old one until then",
			steps: []step{
				{0, read(a), "resolve:a publish", ""},
				{time.Second, checked("a", StateLive), "publish wake@1m1s", "a:live"},
				{2 * time.Second, got(retitled(a, "Drums")), "resolve:a", "a:live"},
				{3 * time.Second, checked("a", StateLive), "publish wake@1m3s", "a:live"},
			},
		},
		{
			name: "duplicates: the page, the streaming API and a reblog of one post make one confirmation",
			steps: []step{
				{0, read(a, a), "resolve:a publish", ""},
				{time.Second, got(a), "", ""},
				{2 * time.Second, got(reblog("r1", a)), "", ""},
				{3 * time.Second, checked("a", StateLive), "publish wake@1m3s", "a:live"},
				{4 * time.Second, read(reblog("r1", a), a), "wake@1m3s", "a:live"},
				{5 * time.Second, gone("r1"), "publish", ""}, // the reblog was how it came
			},
		},
		{
			name: "the relay says a stream ended: it is dropped and not asked about again",
			steps: []step{
				{0, read(b, a), "resolve:a,b publish", ""},
				{time.Second, checked("a", StateLive), "publish wake@1m1s", "a:live"},
				{2 * time.Second, checked("b", StateLive), "publish wake@1m1s", "b:live a:live"},
				{61 * time.Second, tick(), "resolve:a wake@1m2s", "b:live a:live"},
				{62 * time.Second, checked("a", StateEnded), "publish wake@1m2s", "b:live"},
				{62 * time.Second, tick(), "resolve:b", "b:live"},
				{63 * time.Second, read(b, a), "", "b:live"},
				{64 * time.Second, got(reblog("r1", a)), "", "b:live"},
			},
		},
		{
			name: "recheck timing: each stream a recheck interval after its own confirmation",
			steps: []step{
				{0, got(a), "resolve:a", ""},
				{time.Second, read(), "publish", ""},
				{10 * time.Second, got(b), "resolve:b", ""},
				{11 * time.Second, checked("a", StateUnconfirmed), "publish wake@1m11s", "a:unconfirmed"},
				{21 * time.Second, checked("b", StateUpcoming), "publish wake@1m11s", "b:upcoming a:unconfirmed"},
				{70 * time.Second, tick(), "wake@1m11s", "b:upcoming a:unconfirmed"}, // early: nothing due
				{71 * time.Second, tick(), "resolve:a wake@1m21s", "b:upcoming a:unconfirmed"},
				{90 * time.Second, tick(), "resolve:b", "b:upcoming a:unconfirmed"}, // late: b is due, a is out
				{91 * time.Second, checked("b", StateLive), "publish wake@2m31s", "b:live a:unconfirmed"},
				{100 * time.Second, checked("a", StateLive), "publish wake@2m31s", "b:live a:live"},
			},
		},
		{
			name: "at most four confirmations at once; the others wait their turn",
			steps: []step{
				{0, read(ann("p6", "6", 6), ann("p5", "5", 5), ann("p4", "4", 4), ann("p3", "3", 3), ann("p2", "2", 2), ann("p1", "1", 1)),
					"resolve:p1,p2,p3,p4 publish", ""},
				{time.Second, checked("p2", StateLive), "resolve:p5 publish wake@1m1s", "p2:live"},
				{2 * time.Second, got(unannounced(ann("p6", "6", 6))), "wake@1m1s", "p2:live"}, // dropped while waiting
				{3 * time.Second, checked("p1", StateEnded), "wake@1m1s", "p2:live"},
				{4 * time.Second, got(ann("p7", "7", 7)), "resolve:p7 wake@1m1s", "p2:live"},
			},
		},
		{
			name: "the streaming API fails: backoff, polling meanwhile, Retry-After, recovery",
			steps: []step{
				{0, started(), "dial wake@5s", ""},
				{time.Second, down(errDown), "fetch publish wake@2s", ""},
				{2 * time.Second, tick(), "dial wake@31s", ""},
				{3 * time.Second, read(a), "resolve:a publish wake@31s", ""}, // the error is gone: the timeline works
				{4 * time.Second, down(errDown), "publish wake@6s", ""},      // backoff 2 s
				{6 * time.Second, tick(), "dial wake@34s", ""},
				{7 * time.Second, down(newError(KindRateLimited, "connect streaming API", localHost,
					&safehttp.RateLimitError{Host: localHost, RetryAfter: 90 * time.Second})), "publish wake@37s", ""},
				{37 * time.Second, tick(), "fetch wake@1m7s", ""},
				{38 * time.Second, read(a), "publish wake@1m7s", ""}, // the error goes; a is still being confirmed
				{38 * time.Second, checked("a", StateLive), "publish wake@1m7s", "a:live"},
				{67 * time.Second, tick(), "fetch wake@1m37s", "a:live"},
				{68 * time.Second, read(a), "wake@1m37s", "a:live"},
				{97 * time.Second, tick(), "dial fetch wake@1m38s", "a:live"}, // Retry-After passed
				{98 * time.Second, up(), "publish wake@1m38s", "a:live"},      // the read after connecting waits for the one out
				{98 * time.Second, read(a), "fetch wake@1m38s", "a:live"},
				{99 * time.Second, read(a), "wake@1m38s", "a:live"},
				{99 * time.Second, tick(), "resolve:a", "a:live"},
			},
		},
		{
			name: "a link that stayed up a minute starts the backoff over",
			steps: []step{
				{0, started(), "dial wake@5s", ""},
				{0, down(errDown), "fetch publish wake@1s", ""},
				{time.Second, tick(), "dial wake@30s", ""},
				{time.Second, down(errDown), "publish wake@3s", ""},
				{3 * time.Second, tick(), "dial wake@31s", ""},
				{3 * time.Second, down(errDown), "publish wake@7s", ""},
				{7 * time.Second, tick(), "dial wake@33s", ""},
				{7 * time.Second, up(), "publish", ""},
				{67 * time.Second, down(errDown), "publish wake@1m8s", ""},
			},
		},
		{
			name: "reading the timeline fails: the error is shown, and it is read again until it works",
			steps: []step{
				{0, started(), "dial wake@5s", ""},
				{time.Second, up(), "fetch", ""},
				{2 * time.Second, readFailed(errRead), "publish wake@32s", ""},
				{32 * time.Second, tick(), "fetch wake@1m2s", ""},
				{33 * time.Second, readFailed(errRead), "publish wake@1m3s", ""},
				{63 * time.Second, tick(), "fetch wake@1m33s", ""},
				{64 * time.Second, read(a), "resolve:a publish", ""},
			},
		},
		{
			name: "a read asked for while one is out is made once it is back",
			steps: []step{
				{0, started(), "dial wake@5s", ""},
				{time.Second, down(errDown), "fetch publish wake@2s", ""},
				{2 * time.Second, tick(), "dial wake@31s", ""},
				{3 * time.Second, up(), "publish", ""}, // the read after connecting waits for the one out
				{4 * time.Second, read(), "fetch", ""},
				{5 * time.Second, read(a), "resolve:a", ""},
			},
		},
		{
			name: "the list: live streams first, then the others, each newest first",
			steps: []step{
				{0, read(ann("c", "c", 3*time.Minute), ann("b", "b", 2*time.Minute), ann("a", "a", time.Minute)), "resolve:a,b,c publish", ""},
				{time.Second, checked("a", StateLive), "publish wake@1m1s", "a:live"},
				{time.Second, checked("b", StateUnconfirmed), "publish wake@1m1s", "a:live b:unconfirmed"},
				{time.Second, checked("c", StateLive), "publish wake@1m1s", "c:live a:live b:unconfirmed"},
			},
		},
		{
			name: "a full timeline forgets ended posts first, then the oldest, and ignores posts older than all",
			max:  3,
			steps: []step{
				{0, read(ann("c", "c", 3*time.Minute), ann("b", "b", 2*time.Minute), ann("a", "a", time.Minute)), "resolve:a,b,c publish", ""},
				{time.Second, checked("a", StateLive), "publish wake@1m1s", "a:live"},
				{time.Second, checked("b", StateLive), "publish wake@1m1s", "b:live a:live"},
				{time.Second, checked("c", StateLive), "publish wake@1m1s", "c:live b:live a:live"},
				{2 * time.Second, got(ann("d", "d", 4*time.Minute)), "resolve:d publish wake@1m1s", "c:live b:live"},
				{3 * time.Second, got(endedEdit(ann("c", "c", 3*time.Minute))), "publish wake@1m1s", "b:live"},
				{4 * time.Second, got(ann("e", "e", 5*time.Minute)), "resolve:e wake@1m1s", "b:live"}, // c goes, unlisted already
				{5 * time.Second, got(ann("z", "z", -time.Hour)), "wake@1m1s", "b:live"},
				{6 * time.Second, checked("d", StateLive), "publish wake@1m1s", "d:live b:live"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, timelineConfig{localHost: localHost, localDomain: localHost, recheck: time.Minute, maxTracked: tt.max}, tt.steps)
		})
	}
}

// TestTimelineSnapshot: the snapshot says whether the streaming API is up
// and carries the last error until something works again.
func TestTimelineSnapshot(t *testing.T) {
	tl := newTimeline(timelineConfig{localHost: localHost, localDomain: localHost, recheck: time.Minute})
	errDown := wrap("streaming API", localHost, errors.New("connection reset"))
	tl.start(t0)
	tl.disconnected(errDown, t0)
	if s := tl.snapshot(); s.Streaming || !errors.Is(s.Err, errDown) {
		t.Fatalf("after a failed dial: %+v", s)
	}
	tl.connected(t0.Add(time.Second))
	if s := tl.snapshot(); !s.Streaming || s.Err != nil {
		t.Fatalf("connected: %+v", s)
	}
	errRead := newError(KindUnauthorized, "read home timeline", localHost, errors.New("HTTP 401"))
	tl.fetchFailed(errRead, t0.Add(2*time.Second))
	if s := tl.snapshot(); !s.Streaming || KindOf(s.Err) != KindUnauthorized {
		t.Fatalf("read failed: %+v", s)
	}
	tl.page(nil, t0.Add(3*time.Second))
	if s := tl.snapshot(); s.Err != nil {
		t.Fatalf("read worked: %+v", s)
	}
}

// TestTimelineBusy feeds a busy timeline: twenty times as many
// announcements as it may keep, reblogs, edits and deletions, while
// confirmations come back; what the timeline keeps stays within its bounds,
// and the newest streams are the ones listed.
func TestTimelineBusy(t *testing.T) {
	const (
		bound = 100
		posts = 20 * bound
	)
	tl := newTimeline(timelineConfig{localHost: localHost, localDomain: localHost, recheck: time.Minute, maxTracked: bound})
	now := t0
	var (
		out  []job
		peak int
	)
	take := func(w todo) { out = append(out, w.resolve...) }
	take(tl.start(now))
	take(tl.connected(now))
	take(tl.page(nil, now))
	for i := range posts {
		now = now.Add(time.Second)
		id := fmt.Sprintf("p%05d", i)
		st := ann(id, id, time.Duration(i)*time.Second)
		switch i % 10 {
		case 0, 1, 2, 3, 4, 5:
			take(tl.update(st, now))
		case 6:
			take(tl.update(reblog("r"+id, st), now))
		case 7:
			take(tl.update(&mastodon.Status{ID: mastodon.ID(id), Content: "<p>lunch</p>", CreatedAt: now}, now))
		case 8:
			take(tl.update(st, now))
			take(tl.update(endedEdit(st), now))
		case 9:
			take(tl.update(st, now))
			take(tl.deleted(id, now))
		}
		// Confirmations come back one event later, in order.
		for len(out) > 0 && i%3 == 0 {
			j := out[0]
			out = out[1:]
			s := j.cand.stream
			s.State = StateLive
			take(tl.resolved(j, s, now))
		}
		if at := tl.next(); !at.IsZero() && !now.Before(at) {
			take(tl.tick(now))
		}
		checkBounds(t, tl)
		peak = max(peak, len(tl.posts))
	}
	if peak != bound {
		t.Errorf("at most %d posts kept, want the bound, %d", peak, bound)
	}
	list := tl.snapshot().Streams
	if len(list) == 0 || len(list) > bound {
		t.Fatalf("%d streams listed", len(list))
	}
	if newest := list[0].PostID; newest < fmt.Sprintf("p%05d", posts-20) {
		t.Errorf("newest listed stream %s, want one of the last posts", newest)
	}
}
