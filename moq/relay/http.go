package relay

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"html/template"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/tributary-live/tributary/moq/wire"
)

// httpHandler serves the relay's HTTPS endpoints (TCP, and HTTP/3 on the
// MoQ port): /.well-known/moq, /watch/<namespace path>, /metrics and
// /status.json.
func (r *Relay) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/moq", r.serveWellKnown)
	mux.HandleFunc("GET /watch/{path...}", r.serveWatch)
	mux.HandleFunc("POST "+GrantPath, r.serveGrant)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, req *http.Request) {
		st := r.statsFor(req)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		st.WriteMetrics(w)
	})
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, req *http.Request) {
		st := r.statsFor(req)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(st)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("Tributary MoQ relay " + r.name + "\nMoQ: " + r.URL() + "\nSee /.well-known/moq, /watch/<broadcast>, /status.json, /metrics.\n"))
	})
	return mux
}

// statsFor returns the figures req may see: all of them for an admin,
// aggregates for anyone else (Stats.Aggregate).
func (r *Relay) statsFor(req *http.Request) Stats {
	st := r.Stats()
	if r.isAdmin(req) {
		return st
	}
	return st.Aggregate()
}

// isAdmin reports whether req comes from loopback or carries the admin
// token (Config.AdminToken) as "Authorization: Bearer <token>". The token
// is compared in constant time (as SHA-256 hashes, so its length does not
// show either) and never logged.
func (r *Relay) isAdmin(req *http.Request) bool {
	if ap, err := netip.ParseAddrPort(req.RemoteAddr); err == nil && ap.Addr().Unmap().IsLoopback() {
		return true
	}
	if r.cfg.AdminToken == "" {
		return false
	}
	scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	want := sha256.Sum256([]byte(r.cfg.AdminToken))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// WellKnownDoc returns the relay's /.well-known/moq document.
func (r *Relay) WellKnownDoc() WellKnown {
	wk := WellKnown{
		MoQT:         []string{r.URL()},
		WebTransport: []string{r.WebTransportURL()},
		Relays:       append([]string(nil), r.cfg.AdvertiseRelays...),
	}
	for _, v := range wire.Supported {
		wk.ALPN = append(wk.ALPN, v.ALPN())
	}
	if r.cfg.DevCert && len(r.certHash) > 0 {
		wk.CertHashes = []string{hexHash(r.certHash)}
	}
	wk.Instance = r.cfg.InstanceDomain
	wk.Grant = r.GrantURL()
	wk.RelayKey = PublicKeyString(r.relayKey.Public().(ed25519.PublicKey))
	return wk
}

func (r *Relay) serveWellKnown(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	// Browsers fetch it from pages of other origins.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "max-age=60")
	json.NewEncoder(w).Encode(r.WellKnownDoc())
}

// watchPage is the /watch/<path> page: Open Graph tags for link previews
// (Mastodon cards) and how to watch. html/template escapes every value.
var watchPage = template.Must(template.New("watch").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<meta property="og:type" content="video.other">
<meta property="og:title" content="{{.Title}}">
<meta property="og:description" content="{{.Description}}">
<meta property="og:url" content="{{.PageURL}}">
<meta property="og:site_name" content="Tributary">
{{if .Thumbnail}}<meta property="og:image" content="{{.Thumbnail}}">
<meta name="twitter:card" content="summary_large_image">{{else}}<meta name="twitter:card" content="summary">{{end}}
<meta name="description" content="{{.Description}}">
<link rel="alternate" type="application/json" href="/.well-known/moq">
</head><body>
<h1>{{.Title}}</h1>
{{if .Streamer}}<p>Streamed by {{.Streamer}}.</p>{{end}}
<p>{{if .Live}}Live now{{if .Viewers}}, {{.Viewers}} watching through this relay{{end}}.{{else}}Not live on this relay right now.{{end}}</p>
<h2>How to watch</h2>
<ol>
<li>Open it in the Tributary app: paste <code>{{.MoQURL}}</code> (or this page's address) into Watch.</li>
<li>Any MoQ player (draft 18 or 19): connect to <code>{{.RelayURL}}</code> (native QUIC) or <code>{{.WebTransportURL}}</code> (WebTransport) and subscribe to the namespace <code>{{.Namespace}}</code>.</li>
</ol>
{{if .CertHash}}<p>This relay uses a development certificate; pin its SHA-256: <code>{{.CertHash}}</code>.</p>{{end}}
</body></html>
`))

type watchData struct {
	Title, Description, Streamer, Thumbnail string
	PageURL, MoQURL, RelayURL               string
	WebTransportURL, Namespace, CertHash    string
	Live                                    bool
	Viewers                                 int
}

func (r *Relay) serveWatch(w http.ResponseWriter, req *http.Request) {
	raw := strings.Trim(req.PathValue("path"), "/")
	segs := strings.Split(raw, "/")
	if raw == "" || len(segs) > 32 || len(raw) > 1024 {
		http.Error(w, "no broadcast in the address", http.StatusNotFound)
		return
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			http.Error(w, "bad broadcast path", http.StatusNotFound)
			return
		}
	}
	ns := wire.NewNamespace(segs...)
	path := namespacePath(ns)
	escaped := make([]string, len(segs))
	for i, s := range segs {
		escaped[i] = url.PathEscape(s)
	}
	ep := strings.Join(escaped, "/")
	r.mu.Lock()
	info := r.info[path]
	live, viewers := false, 0
	for _, e := range r.tracks {
		if e.name.Namespace.Equal(ns) && e.track != nil {
			if closed, _ := e.track.Closed(); !closed {
				live = true
			}
			viewers = max(viewers, e.track.Readers())
		}
	}
	r.mu.Unlock()
	d := watchData{
		Title: info.Title, Streamer: info.Streamer, Thumbnail: info.Thumbnail,
		PageURL: "https://" + r.cfg.PublicAddr + "/watch/" + ep, MoQURL: r.URL() + "/" + ep,
		RelayURL: r.URL(), WebTransportURL: r.WebTransportURL(), Namespace: path,
		Live: live, Viewers: viewers,
	}
	if d.Title == "" {
		d.Title = path
		if len(segs) >= 2 {
			d.Title = segs[len(segs)-1] + " by " + segs[1] + "@" + segs[0]
		}
	}
	if d.Streamer == "" && len(segs) >= 2 {
		d.Streamer = "@" + segs[1] + "@" + segs[0]
	}
	if !strings.HasPrefix(d.Thumbnail, "https://") {
		d.Thumbnail = ""
	}
	d.Description = "Live on Tributary (Media over QUIC)"
	if d.Streamer != "" {
		d.Description += " by " + d.Streamer
	}
	if r.cfg.DevCert {
		d.CertHash = hexHash(r.certHash)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src https:; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if err := watchPage.Execute(w, d); err != nil {
		r.log.Debug("relay: watch page", "err", err)
	}
}
