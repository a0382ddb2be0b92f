package fedi

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// fakeMastodon is a minimal Mastodon-API server for unit tests of the
// sign-in flow: it checks what real servers check (exact redirect URI) and
// what GoToSocial does not (the PKCE S256 challenge), and records revocations.
type fakeMastodon struct {
	t    *testing.T
	srv  *httptest.Server
	host string
	pool *x509.CertPool

	mu         sync.Mutex
	redirects  map[string]string // client_id -> registered redirect
	challenge  string
	deny       bool
	revoked    []string
	statusCode int // answer to POST /api/v1/statuses when non-zero
	apps       int

	timeline     []json.RawMessage // GET /api/v1/timelines/home
	push         chan []byte       // messages for the open streaming connection
	drop         chan struct{}     // closes the open streaming connection
	streamReject int               // answer to the streaming upgrade when non-zero
	tokenInURL   bool              // a client put the token in the streaming URL
	streamConns  int
}

func newFakeMastodon(t *testing.T) *fakeMastodon {
	f := &fakeMastodon{t: t, redirects: map[string]string{}, push: make(chan []byte, 16), drop: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/timelines/home", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tl := f.timeline
		if tl == nil {
			tl = []json.RawMessage{}
		}
		writeJSON(w, tl)
	})
	mux.HandleFunc("GET /api/v1/streaming", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if r.URL.Query().Get("access_token") != "" {
			f.tokenInURL = true
		}
		reject := f.streamReject
		f.streamConns++
		f.mu.Unlock()
		if reject != 0 {
			w.WriteHeader(reject)
			return
		}
		if r.Header.Get("Authorization") == "" || r.URL.Query().Get("stream") != "user" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			select {
			case m := <-f.push:
				if err := conn.WriteMessage(websocket.TextMessage, m); err != nil {
					return
				}
			case <-f.drop:
				return
			case <-r.Context().Done():
				return
			}
		}
	})
	mux.HandleFunc("GET /.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		res := r.URL.Query().Get("resource")
		if res != "acct:zoe@"+f.host {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, map[string]any{"subject": res, "links": []map[string]string{
			{"rel": "self", "type": "application/activity+json", "href": "https://" + f.host + "/users/zoe"}}})
	})
	mux.HandleFunc("GET /api/v1/instance", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"uri": f.host, "title": "fake"})
	})
	mux.HandleFunc("POST /api/v1/apps", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.apps++
		id := fmt.Sprintf("client-%d", f.apps)
		f.redirects[id] = r.FormValue("redirect_uris")
		writeJSON(w, map[string]any{"id": "1", "client_id": id, "client_secret": "secret-" + id, "redirect_uri": r.FormValue("redirect_uris")})
	})
	mux.HandleFunc("GET /oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.mu.Lock()
		reg := f.redirects[q.Get("client_id")]
		f.challenge = q.Get("code_challenge")
		deny := f.deny
		f.mu.Unlock()
		if reg == "" || q.Get("redirect_uri") != reg || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		if reg == OOBRedirect {
			fmt.Fprint(w, "code-oob")
			return
		}
		u, _ := url.Parse(reg)
		v := url.Values{"state": {q.Get("state")}}
		if deny {
			v.Set("error", "access_denied")
		} else {
			v.Set("code", "code-1")
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		id := r.FormValue("client_id")
		sum := sha256.Sum256([]byte(r.FormValue("code_verifier")))
		ok := r.FormValue("grant_type") == "authorization_code" && f.redirects[id] == r.FormValue("redirect_uri") &&
			r.FormValue("client_secret") == "secret-"+id && (r.FormValue("code") == "code-1" || r.FormValue("code") == "code-oob") &&
			base64.RawURLEncoding.EncodeToString(sum[:]) == f.challenge
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_grant"}`)
			return
		}
		writeJSON(w, map[string]any{"access_token": "token-" + id, "token_type": "Bearer", "scope": "read write"})
	})
	mux.HandleFunc("GET /api/v1/accounts/verify_credentials", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, rv := range f.revoked {
			if r.Header.Get("Authorization") == "Bearer "+rv {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"error":"The access token was revoked"}`)
				return
			}
		}
		writeJSON(w, map[string]any{"id": "7", "username": "zoe", "acct": "zoe", "display_name": "Zoë \u202e", "url": "https://" + f.host + "/@zoe", "avatar": "https://" + f.host + "/a.png"})
	})
	mux.HandleFunc("POST /oauth/revoke", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		id := r.FormValue("client_id")
		if r.FormValue("client_secret") != "secret-"+id || r.FormValue("token") != "token-"+id {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		f.revoked = append(f.revoked, r.FormValue("token"))
		writeJSON(w, map[string]any{})
	})
	mux.HandleFunc("POST /api/v1/statuses", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		code := f.statusCode
		f.mu.Unlock()
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(code)
			return
		}
		writeJSON(w, map[string]any{"id": "99", "url": "https://" + f.host + "/@zoe/99", "content": "<p>" + r.FormValue("status") + "</p>", "visibility": r.FormValue("visibility")})
	})
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	f.host = f.srv.Listener.Addr().String()
	f.pool = x509.NewCertPool()
	f.pool.AddCert(f.srv.Certificate())
	return f
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// followRedirects plays a browser that is already signed in: it follows
// the authorization URL's redirects to the loopback listener.
func (f *fakeMastodon) followRedirects(authURL string) error {
	go func() {
		c := f.srv.Client()
		c.Transport.(*http.Transport).TLSClientConfig.RootCAs = f.pool
		resp, err := c.Get(authURL)
		if err == nil {
			resp.Body.Close()
		}
	}()
	return nil
}
