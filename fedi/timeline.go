package fedi

import (
	"errors"
	"slices"
	"time"

	"github.com/mattn/go-mastodon"

	"github.com/tributary-live/tributary/fedi/internal/safehttp"
)

// Timing and bounds of a timeline.
const (
	// maxTracked bounds the candidates a timeline keeps (the default of
	// timelineConfig.maxTracked).
	maxTracked = 500
	// maxReblogs bounds the reblog ids kept per candidate: a delete naming
	// an older reblog finds nothing, which only keeps the post listed.
	maxReblogs = 4
	// maxResolving bounds the confirmations handed out at once.
	maxResolving = 4
	// firstPoll is how long a timeline waits for the streaming API before
	// it reads the home timeline anyway.
	firstPoll = 5 * time.Second
	// pollEvery is how often the home timeline is read while the
	// streaming API is down.
	pollEvery = 30 * time.Second
	// minBackoff and maxBackoff bound the wait before dialling the
	// streaming API again; a connection that stayed up steadyLink starts
	// the backoff over.
	minBackoff = time.Second
	maxBackoff = 2 * time.Minute
	steadyLink = time.Minute
)

// Snapshot is the state of discovery at one moment.
type Snapshot struct {
	// Streams are the streams that are on: the live ones first, then the
	// unconfirmed and upcoming ones, each newest first.
	Streams []LiveStream
	// Streaming is true while the streaming API connection is up (new
	// posts arrive at once); false while Watch falls back to polling.
	Streaming bool
	// Err is the last error, nil when all is well; show UserMessage(Err).
	Err error
}

// timelineConfig configures a timeline.
type timelineConfig struct {
	// localHost and localDomain are the viewer's server (see classify).
	localHost, localDomain string
	// recheck is how long after a confirmation a listed stream is
	// confirmed again.
	recheck time.Duration
	// maxTracked bounds the candidates kept (maxTracked if zero).
	maxTracked int
}

// timeline is what Watch knows of a home timeline: the posts that may
// announce a stream (candidates), what confirming each gave, the state of
// the streaming connection, and when each next piece of work is due.
//
// Like player/jitter's Buffer it is a plain data structure: every method
// takes one event and the current time and returns the work to do (a
// todo); it does no I/O, starts no goroutine and reads no clock. Watch's
// goroutine does the work and hands the outcomes back as events.
//
// Memory stays bounded on a busy timeline: at most maxTracked candidates
// are kept (ended posts first, then the oldest, are forgotten), each with at
// most maxReblogs reblog ids, and at most maxResolving confirmations run at
// once while the others wait in a queue of tracked posts.
type timeline struct {
	cfg timelineConfig

	posts   map[string]*tracked // by the original post's id
	reblogs map[string]string   // reblog id -> original post id
	queue   []string            // posts waiting for a confirmation, first come first
	running int                 // confirmations handed out and not yet back
	seq     int                 // the last version handed to a post

	streaming bool          // the streaming connection is up
	upSince   time.Time     // when it came up
	dialAt    time.Time     // when to dial it again (zero: not planned)
	backoff   time.Duration // the wait before the next dial after a failure

	fetching bool      // a read of the home timeline is out
	refetch  bool      // read again once it is back: something happened meanwhile
	fetched  bool      // a read was ever asked for
	failed   bool      // the last read failed
	pollAt   time.Time // the next read while the streaming API is down or reads fail

	err   error // the last error, nil while all is well
	ready bool  // the first read (or a failure) came back: snapshots may go out
	dirty bool  // the snapshot changed since it was last handed out
	want  todo  // the work gathered while handling one event
}

// tracked is one candidate a timeline keeps.
type tracked struct {
	cand    candidate
	stream  LiveStream // what the last confirmation gave (State "" before the first)
	version int        // which confirmation counts; a result of another one is stale
	queued  bool       // waiting in timeline.queue
	checkAt time.Time  // when to confirm it again (zero: not planned)
	reblogs []string   // ids of reblogs of it, oldest first
}

// job asks for one candidate to be confirmed (Client.resolve); its
// outcome goes back to timeline.resolved with the job.
type job struct {
	key     string
	version int
	cand    candidate
}

// todo is the work a timeline asks for after an event.
type todo struct {
	// dial: open the streaming connection, then report connected and,
	// when it fails or closes, disconnected.
	dial bool
	// fetch: read the newest page of the home timeline, then report page
	// or fetchFailed.
	fetch bool
	// resolve: confirm these candidates and report each with resolved.
	resolve []job
	// publish: the snapshot changed; hand it out.
	publish bool
}

// newTimeline returns an empty timeline.
func newTimeline(cfg timelineConfig) *timeline {
	if cfg.maxTracked <= 0 {
		cfg.maxTracked = maxTracked
	}
	return &timeline{cfg: cfg, posts: map[string]*tracked{}, reblogs: map[string]string{}, backoff: minBackoff}
}

// start begins: the streaming connection is dialled at once and the home
// timeline read if it has not come up within firstPoll.
func (t *timeline) start(now time.Time) todo {
	t.want.dial = true
	t.pollAt = now.Add(firstPoll)
	return t.take()
}

// connected: the streaming connection is up. The home timeline is read
// after connecting, so that no post falls between.
func (t *timeline) connected(now time.Time) todo {
	if !t.streaming {
		t.streaming, t.upSince = true, now
		t.dirty = true
	}
	t.pollAt = time.Time{}
	t.setErr(nil)
	t.read()
	return t.take()
}

// disconnected: the streaming connection failed or closed with err. It is
// dialled again after the backoff (or the server's Retry-After), and the
// home timeline is polled meanwhile.
func (t *timeline) disconnected(err error, now time.Time) todo {
	if t.streaming && now.Sub(t.upSince) >= steadyLink {
		t.backoff = minBackoff
	}
	wait := t.backoff
	var rl *safehttp.RateLimitError
	if KindOf(err) == KindRateLimited && errors.As(err, &rl) && rl.RetryAfter > wait {
		wait = rl.RetryAfter
	}
	t.dialAt = now.Add(wait)
	t.backoff = min(2*t.backoff, maxBackoff)
	t.streaming = false
	t.ready = true
	t.setErr(err)
	t.dirty = true // Streaming changed
	if !t.fetched {
		t.read()
	}
	t.pollAt = now.Add(pollEvery)
	return t.take()
}

// page: the home timeline's newest page (newest first) was read.
func (t *timeline) page(sts []*mastodon.Status, now time.Time) todo {
	t.fetching, t.failed = false, false
	if t.streaming {
		t.pollAt = time.Time{}
	}
	if !t.ready {
		t.ready, t.dirty = true, true
	}
	t.setErr(nil)
	// Oldest first, so that newer posts (an ENDED edit) win.
	for i := len(sts) - 1; i >= 0; i-- {
		t.consider(sts[i], now)
	}
	t.readAgain()
	return t.take()
}

// fetchFailed: reading the home timeline failed with err. It is read
// again pollEvery later, even while the streaming API is up.
func (t *timeline) fetchFailed(err error, now time.Time) todo {
	t.fetching, t.failed = false, true
	t.pollAt = now.Add(pollEvery)
	t.ready = true
	t.setErr(err)
	t.dirty = true
	t.readAgain()
	return t.take()
}

// update: the streaming API sent a new or edited post.
func (t *timeline) update(st *mastodon.Status, now time.Time) todo {
	t.consider(st, now)
	return t.take()
}

// deleted: the streaming API says post (or reblog) id was deleted.
func (t *timeline) deleted(id string, now time.Time) todo {
	if inner, ok := t.reblogs[id]; ok {
		id = inner
	}
	t.forget(id)
	return t.take()
}

// resolved: the confirmation j gave s.
func (t *timeline) resolved(j job, s LiveStream, now time.Time) todo {
	t.running--
	p := t.posts[j.key]
	if p == nil || p.version != j.version {
		return t.take() // forgotten or changed meanwhile
	}
	before := p.stream
	p.stream = s
	if s.State != StateEnded {
		p.checkAt = now.Add(t.cfg.recheck)
	}
	if listed(before) != listed(s) || listed(s) && !sameListing(before, s) {
		t.dirty = true
	}
	return t.take()
}

// tick does what is due at now: a dial, a poll, confirmations of listed
// streams. Call it at next().
func (t *timeline) tick(now time.Time) todo {
	if due(t.dialAt, now) {
		t.dialAt = time.Time{}
		t.want.dial = true
	}
	if t.polling() && due(t.pollAt, now) {
		t.pollAt = now.Add(pollEvery)
		t.read()
	}
	var keys []string
	for key, p := range t.posts {
		if due(p.checkAt, now) {
			p.checkAt = time.Time{}
			keys = append(keys, key)
		}
	}
	slices.Sort(keys) // the same work for the same events
	for _, key := range keys {
		t.enqueue(key, t.posts[key])
	}
	return t.take()
}

// next is when tick has work next; zero when nothing is planned.
func (t *timeline) next() time.Time {
	at := t.dialAt
	if t.polling() {
		at = earliest(at, t.pollAt)
	}
	for _, p := range t.posts {
		at = earliest(at, p.checkAt)
	}
	return at
}

// snapshot is the list as it stands: the streams that are on (live,
// unconfirmed or upcoming), in sortStreams's order.
func (t *timeline) snapshot() Snapshot {
	list := make([]LiveStream, 0, len(t.posts))
	for _, p := range t.posts {
		if listed(p.stream) {
			list = append(list, p.stream)
		}
	}
	sortStreams(list)
	return Snapshot{Streams: list, Streaming: t.streaming, Err: t.err}
}

// consider takes one post, from a page or the streaming API.
func (t *timeline) consider(st *mastodon.Status, now time.Time) {
	if st == nil {
		return
	}
	cd, ok := classify(st, t.cfg.localHost, t.cfg.localDomain)
	if !ok {
		// An edit may have taken the announcement out.
		key := string(st.ID)
		if st.Reblog != nil {
			key = string(st.Reblog.ID)
		}
		t.forget(key)
		return
	}
	p := t.posts[cd.innerID]
	known := p != nil
	if !known {
		if p = t.admit(cd); p == nil {
			return
		}
	}
	t.noteReblog(p, cd)
	if known && p.cand.same(cd) {
		return // a duplicate: the page and the streaming API both had it
	}
	p.cand = cd
	t.seq++
	p.version = t.seq // a confirmation of the post as it was is stale
	p.checkAt = time.Time{}
	if cd.ended {
		t.end(p, cd.stream)
		// An ended post also ends older live posts of the same broadcast.
		for _, o := range t.posts {
			if o != p && o.stream.State != StateEnded && sameBroadcast(o.cand, cd) && !o.cand.stream.StartedAt.After(cd.stream.StartedAt) {
				t.end(o, o.cand.stream)
			}
		}
		return
	}
	// An older post of a broadcast that a newer post says ended.
	for _, o := range t.posts {
		if o != p && o.cand.ended && sameBroadcast(o.cand, cd) && !cd.stream.StartedAt.After(o.cand.stream.StartedAt) {
			t.end(p, cd.stream)
			return
		}
	}
	t.enqueue(cd.innerID, p)
}

// admit starts tracking cd, forgetting another post if the timeline is
// full: ended posts first, then the oldest. It returns nil when cd itself
// is older than every post that could make room.
func (t *timeline) admit(cd candidate) *tracked {
	if len(t.posts) >= t.cfg.maxTracked {
		victim := ""
		for k := range t.posts {
			if victim == "" || forgetFirst(t.posts[k], t.posts[victim], k, victim) {
				victim = k
			}
		}
		v := t.posts[victim]
		if v.stream.State != StateEnded && cd.stream.StartedAt.Before(v.cand.stream.StartedAt) {
			return nil
		}
		t.forget(victim)
	}
	p := &tracked{}
	t.posts[cd.innerID] = p
	return p
}

// forgetFirst reports whether post a (key ka) is to be forgotten before
// post b (key kb): ended posts first, then the oldest.
func forgetFirst(a, b *tracked, ka, kb string) bool {
	ae, be := a.stream.State == StateEnded, b.stream.State == StateEnded
	if ae != be {
		return ae
	}
	if !a.cand.stream.StartedAt.Equal(b.cand.stream.StartedAt) {
		return a.cand.stream.StartedAt.Before(b.cand.stream.StartedAt)
	}
	return ka < kb
}

// noteReblog remembers the reblog id cd was seen under, if any.
func (t *timeline) noteReblog(p *tracked, cd candidate) {
	if cd.outerID == cd.innerID || slices.Contains(p.reblogs, cd.outerID) {
		return
	}
	if len(p.reblogs) >= maxReblogs {
		delete(t.reblogs, p.reblogs[0])
		p.reblogs = slices.Delete(p.reblogs, 0, 1)
	}
	p.reblogs = append(p.reblogs, cd.outerID)
	t.reblogs[cd.outerID] = cd.innerID
}

// forget stops tracking a post.
func (t *timeline) forget(key string) {
	p := t.posts[key]
	if p == nil {
		return
	}
	delete(t.posts, key)
	for _, id := range p.reblogs {
		delete(t.reblogs, id)
	}
	if p.queued {
		t.queue = slices.DeleteFunc(t.queue, func(k string) bool { return k == key })
	}
	if listed(p.stream) {
		t.dirty = true
	}
}

// end marks a post's stream ended (as s says); it is kept, unlisted, so that
// reading it again changes nothing, and never confirmed again.
func (t *timeline) end(p *tracked, s LiveStream) {
	if listed(p.stream) {
		t.dirty = true
	}
	s.State = StateEnded
	p.stream = s
	t.seq++
	p.version = t.seq
	p.checkAt = time.Time{}
	if p.queued {
		p.queued = false
		t.queue = slices.DeleteFunc(t.queue, func(k string) bool { return t.posts[k] == p })
	}
}

// enqueue asks for a confirmation of post key.
func (t *timeline) enqueue(key string, p *tracked) {
	if !p.queued {
		p.queued = true
		t.queue = append(t.queue, key)
	}
}

// polling reports whether the home timeline is read every pollEvery: while
// the streaming API is down, or after a read failed.
func (t *timeline) polling() bool {
	return !t.streaming || t.failed
}

// read asks for a read of the home timeline, or for another one after the
// read that is out.
func (t *timeline) read() {
	t.fetched = true
	if t.fetching {
		t.refetch = true
		return
	}
	t.fetching = true
	t.want.fetch = true
}

// readAgain hands out the read asked for while the last one was out.
func (t *timeline) readAgain() {
	if t.refetch {
		t.refetch = false
		t.read()
	}
}

func (t *timeline) setErr(err error) {
	if err != t.err {
		t.err, t.dirty = err, true
	}
}

// take hands out the work gathered while handling an event, with as many
// queued confirmations as may run.
func (t *timeline) take() todo {
	for t.running < maxResolving && len(t.queue) > 0 {
		key := t.queue[0]
		t.queue = t.queue[1:]
		p := t.posts[key]
		p.queued = false
		t.running++
		t.want.resolve = append(t.want.resolve, job{key: key, version: p.version, cand: p.cand})
	}
	w := t.want
	w.publish = t.dirty && t.ready
	if w.publish {
		t.dirty = false
	}
	t.want = todo{}
	return w
}

// listed reports whether a stream is on a list: confirmed at least once and
// not ended.
func listed(s LiveStream) bool {
	return s.State != "" && s.State != StateEnded
}

// sameBroadcast reports whether two posts announce the same broadcast.
func sameBroadcast(a, b candidate) bool {
	return a.stream.WatchURL != "" && a.stream.WatchURL == b.stream.WatchURL
}

func due(at, now time.Time) bool {
	return !at.IsZero() && !now.Before(at)
}

// earliest is the earlier of two times, a zero time meaning none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// same reports whether two readings of a post say the same, so that the
// second needs no new confirmation. The reblog id it came under does not
// count.
func (c candidate) same(o candidate) bool {
	a, b := c.stream, o.stream
	return c.innerID == o.innerID && c.uri == o.uri && c.ended == o.ended && c.fetchAP == o.fetchAP &&
		c.owncast == o.owncast && c.fromHost == o.fromHost &&
		a.Source == b.Source && a.Account == b.Account && a.DisplayName == b.DisplayName && a.Avatar == b.Avatar &&
		a.Title == b.Title && a.StartedAt.Equal(b.StartedAt) && a.Broadcast == b.Broadcast && a.WatchURL == b.WatchURL &&
		a.Thumbnail == b.Thumbnail && a.State == b.State && a.PostURL == b.PostURL && a.PostID == b.PostID
}

// sameListing reports whether two versions of a stream look the same in a list.
func sameListing(a, b LiveStream) bool {
	return a.State == b.State && a.Title == b.Title && a.WatchURL == b.WatchURL && a.Thumbnail == b.Thumbnail &&
		a.StartedAt.Equal(b.StartedAt) && slices.Equal(a.RelayURLs, b.RelayURLs)
}
