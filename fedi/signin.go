package fedi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/mattn/go-mastodon"
	"golang.org/x/oauth2"

	"github.com/tributary-live/tributary/fedi/internal/safehttp"
	"github.com/tributary-live/tributary/fedi/livepost"
)

// OOBRedirect is the redirect URI that asks the server to show the
// authorization code for the user to paste (RFC 6749 out-of-band).
const OOBRedirect = "urn:ietf:wg:oauth:2.0:oob"

// Scopes requested at sign-in: reading the home timeline and the streaming
// API, and posting and editing statuses.
const Scopes = "read write"

// SignInOptions tunes one sign-in.
type SignInOptions struct {
	// PasteCode enables the paste-the-code flow. It is called with the
	// authorization URL (which the app shows, and tries to open) and
	// returns the code the user pasted. It is used when UsePaste is set, or
	// when the loopback redirect or the browser cannot be used.
	PasteCode func(ctx context.Context, authURL string) (string, error)
	// UsePaste skips the browser-and-loopback flow (for example when the
	// browser runs on another machine).
	UsePaste bool
	// Timeout bounds the wait for the browser (default 5 minutes).
	Timeout time.Duration
}

// handle is a parsed account or server address.
type handle struct {
	user   string // may be empty
	domain string // host[:port] of the handle
	scheme string // scheme for the domain
}

// parseHandle understands "name@example.social", "@name@example.social",
// "acct:name@example.social", "example.social" and "https://example.social".
func (c *Client) parseHandle(s string) (handle, error) {
	s = strings.TrimSpace(s)
	bad := newError(KindBadHandle, "sign in", "", fmt.Errorf("cannot read %q", s))
	if s == "" || len(s) > 512 {
		return handle{}, bad
	}
	var h handle
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.User != nil {
			return handle{}, bad
		}
		h.scheme, h.domain = strings.ToLower(u.Scheme), u.Host
	} else {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "acct:"), "@")
		if i := strings.LastIndexByte(s, '@'); i >= 0 {
			h.user, s = s[:i], s[i+1:]
			if h.user == "" || strings.ContainsAny(h.user, "@/:?# ") {
				return handle{}, bad
			}
		}
		h.domain = strings.TrimSuffix(s, "/")
		h.scheme = "https"
		if c.cfg.AllowLoopbackHTTP && safehttp.IsLoopbackHost(h.domain) {
			h.scheme = "http"
		}
	}
	if h.domain == "" || strings.ContainsAny(h.domain, "/?#@ \\") {
		return handle{}, bad
	}
	if u, err := url.Parse(h.scheme + "://" + h.domain + "/"); err != nil || u.Hostname() == "" {
		return handle{}, bad
	}
	if err := c.api.CheckURLScheme(h.scheme, h.domain); err != nil {
		return handle{}, newError(KindInsecure, "sign in", h.domain, err)
	}
	return h, nil
}

// webfinger resolves user@domain to the base URL of the server hosting it
// (RFC 7033; the actor link's host may differ from the handle's domain).
func (c *Client) webfinger(ctx context.Context, h handle) (string, error) {
	base := h.scheme + "://" + h.domain
	q := url.Values{"resource": {"acct:" + h.user + "@" + h.domain}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/.well-known/webfinger?"+q.Encode(), nil)
	if err != nil {
		return "", newError(KindBadHandle, "sign in", h.domain, err)
	}
	req.Header.Set("Accept", "application/jrd+json, application/json")
	resp, err := c.apiHTTP.Do(req)
	if err != nil {
		return "", wrap("sign in", h.domain, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return "", newError(KindNotFound, "sign in", h.domain, fmt.Errorf("webfinger: no account %s@%s", h.user, h.domain))
	case resp.StatusCode == http.StatusTooManyRequests:
		return "", newError(KindRateLimited, "sign in", h.domain, errors.New("webfinger: 429"))
	case resp.StatusCode != http.StatusOK:
		return "", newError(KindNotMastodon, "sign in", h.domain, fmt.Errorf("webfinger: HTTP %d", resp.StatusCode))
	}
	body, err := safehttp.ReadAll(resp.Body, 256<<10)
	if err != nil {
		return "", wrap("sign in", h.domain, err)
	}
	var jrd struct {
		Subject string `json:"subject"`
		Links   []struct {
			Rel  string `json:"rel"`
			Type string `json:"type"`
			Href string `json:"href"`
		} `json:"links"`
	}
	if err := json.Unmarshal(body, &jrd); err != nil {
		return "", newError(KindNotMastodon, "sign in", h.domain, fmt.Errorf("webfinger: %w", err))
	}
	for _, l := range jrd.Links {
		if l.Rel != "self" {
			continue
		}
		u, err := url.Parse(l.Href)
		if err != nil || u.Host == "" {
			continue
		}
		if c.api.CheckURLScheme(u.Scheme, u.Host) != nil {
			continue
		}
		return u.Scheme + "://" + u.Host, nil
	}
	return base, nil
}

// SignIn signs in an account: handle is name@example.social (resolved with
// WebFinger) or a server (example.social). It registers the app with the
// server, opens the authorization page in the browser (Config.OpenURL) with
// a PKCE challenge and a loopback redirect to 127.0.0.1, waits for the code,
// exchanges it for a token, checks it, and stores the account. With
// SignInOptions.PasteCode it falls back to paste-the-code. Signing in an
// account that is already signed in replaces its token.
func (c *Client) SignIn(ctx context.Context, handleText string, opts SignInOptions) (*Account, error) {
	h, err := c.parseHandle(handleText)
	if err != nil {
		return nil, err
	}
	server := h.scheme + "://" + h.domain
	if h.user != "" {
		if server, err = c.webfinger(ctx, h); err != nil {
			return nil, err
		}
	}
	su, _ := url.Parse(server)
	host := su.Host

	// The server must speak the Mastodon client API.
	if err := c.checkInstance(ctx, server, host); err != nil {
		return nil, err
	}

	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	var (
		code, redirect, verifier string
		app                      *mastodon.Application
	)
	usePaste := opts.UsePaste
	if usePaste && opts.PasteCode == nil {
		return nil, newError(KindInvalid, "sign in", host, errors.New("UsePaste needs PasteCode"))
	}
	if !usePaste {
		code, redirect, app, verifier, err = c.browserFlow(ctx, server, host, timeout)
		if err != nil {
			var fe *Error
			fallback := opts.PasteCode != nil && errors.As(err, &fe) && fe.Op == "open browser"
			if !fallback {
				return nil, err
			}
			c.log.Info("fedi: browser sign-in unavailable, using paste-the-code", "host", host, "err", err)
			usePaste = true
		}
	}
	if usePaste {
		code, redirect, app, verifier, err = c.pasteFlow(ctx, server, host, opts.PasteCode)
		if err != nil {
			return nil, err
		}
	}

	oc := c.oauthConfig(server, app, redirect)
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, c.apiHTTP), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, wrap("sign in", host, err)
	}
	cr := credentials{AccessToken: tok.AccessToken, ClientSecret: app.ClientSecret}
	mc := c.mastodonClient(server, app.ClientID, cr)
	me, err := mc.GetAccountCurrentUser(ctx)
	if err != nil {
		return nil, wrap("sign in", host, err)
	}
	// The handle's domain names accounts of this server (it may differ
	// from the API host); the browser may have signed in another account
	// than the one typed, so the username comes from the server.
	domain := host
	if h.user != "" {
		domain = h.domain
	}
	a := Account{
		ID:          me.Username + "@" + domain,
		Username:    me.Username,
		Domain:      domain,
		Server:      server,
		DisplayName: displayName(me),
		Avatar:      me.Avatar,
		URL:         me.URL,
		ClientID:    app.ClientID,
		SignedInAt:  time.Now().UTC(),
	}
	if me.Username == "" || strings.ContainsAny(me.Username, "@/ ") {
		return nil, newError(KindServer, "sign in", host, fmt.Errorf("server returned username %q", me.Username))
	}
	// Replace an older sign-in of the same account (best effort revoke).
	c.mu.Lock()
	old, had := c.accounts[a.ID]
	c.mu.Unlock()
	if had {
		if ocr, err := c.credentials(a.ID); err == nil && ocr.AccessToken != cr.AccessToken {
			_ = c.revoke(ctx, old, ocr)
		}
	}
	b, _ := json.Marshal(cr)
	if err := c.cfg.Secrets.Set(secretKey(a.ID), string(b)); err != nil {
		return nil, &Error{Kind: KindOther, Op: "sign in", Host: host, Message: "The sign-in could not be stored on this device: " + err.Error(), Err: err}
	}
	c.mu.Lock()
	c.accounts[a.ID] = a
	err = c.saveAccounts()
	c.mu.Unlock()
	if err != nil {
		return nil, &Error{Kind: KindOther, Op: "sign in", Host: host, Message: "The account list could not be saved: " + err.Error(), Err: err}
	}
	c.log.Info("fedi: signed in", "account", a.ID, "storage", c.cfg.Secrets.Kind())
	return &a, nil
}

// checkInstance asks GET /api/v1/instance, which every Mastodon-API server answers.
func (c *Client) checkInstance(ctx context.Context, server, host string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/api/v1/instance", nil)
	if err != nil {
		return newError(KindBadHandle, "sign in", host, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.apiHTTP.Do(req)
	if err != nil {
		return wrap("sign in", host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return newError(KindNotMastodon, "sign in", host, fmt.Errorf("GET /api/v1/instance: HTTP %d", resp.StatusCode))
	}
	body, err := safehttp.ReadAll(resp.Body, 1<<20)
	if err != nil {
		return wrap("sign in", host, err)
	}
	var inst map[string]json.RawMessage
	if json.Unmarshal(body, &inst) != nil || (inst["uri"] == nil && inst["domain"] == nil) {
		return newError(KindNotMastodon, "sign in", host, errors.New("GET /api/v1/instance: not an instance document"))
	}
	return nil
}

func (c *Client) register(ctx context.Context, server, host, redirect string) (*mastodon.Application, error) {
	app, err := mastodon.RegisterApp(ctx, &mastodon.AppConfig{
		Client:       *c.apiHTTP,
		Server:       server,
		ClientName:   c.cfg.AppName,
		RedirectURIs: redirect,
		Scopes:       Scopes,
		Website:      c.cfg.Website,
	})
	if err != nil {
		var api *mastodon.APIError
		if errors.As(err, &api) && (api.StatusCode == 404 || api.StatusCode == 405) {
			return nil, newError(KindNotMastodon, "sign in", host, err)
		}
		return nil, wrap("sign in", host, err)
	}
	if app.ClientID == "" {
		return nil, newError(KindNotMastodon, "sign in", host, errors.New("app registration returned no client_id"))
	}
	return app, nil
}

func (c *Client) oauthConfig(server string, app *mastodon.Application, redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     app.ClientID,
		ClientSecret: app.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   server + "/oauth/authorize",
			TokenURL:  server + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: redirect,
		Scopes:      strings.Fields(Scopes),
	}
}

func randomState() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// callbackResult is what the loopback redirect delivered.
type callbackResult struct {
	code string
	err  error
}

// browserFlow runs the authorization in the system browser with a loopback
// redirect listener (RFC 8252 section 7.3) and PKCE (RFC 7636).
func (c *Client) browserFlow(ctx context.Context, server, host string, timeout time.Duration) (code, redirect string, app *mastodon.Application, verifier string, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, "", newError(KindOther, "open browser", host, fmt.Errorf("loopback listener: %w", err))
	}
	defer ln.Close()
	redirect = fmt.Sprintf("http://%s/callback", ln.Addr().String())
	app, err = c.register(ctx, server, host, redirect)
	if err != nil {
		return "", "", nil, "", err
	}
	state := randomState()
	verifier = oauth2.GenerateVerifier()
	authURL := c.oauthConfig(server, app, redirect).AuthCodeURL(state,
		oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("force_login", "true"))

	results := make(chan callbackResult, 1)
	deliver := func(r callbackResult) {
		select {
		case results <- r:
		default:
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			http.Error(w, "This sign-in link is not the one Tributary is waiting for.", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if e := q.Get("error"); e != "" {
			fmt.Fprintf(w, "<!doctype html><title>Tributary</title><p>Sign-in was cancelled (%s). You can close this tab.</p>", html.EscapeString(livepost.Sanitize(e, 100)))
			deliver(callbackResult{err: newError(KindDenied, "sign in", host, fmt.Errorf("authorization error %q: %s", livepost.Sanitize(e, 100), livepost.Sanitize(q.Get("error_description"), 200)))})
			return
		}
		code := q.Get("code")
		if code == "" || len(code) > 4096 {
			http.Error(w, "No authorization code.", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "<!doctype html><title>Tributary</title><p>Signed in. You can close this tab and return to Tributary.</p>")
		deliver(callbackResult{code: code})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	if err := c.cfg.OpenURL(authURL); err != nil {
		return "", "", nil, "", newError(KindOther, "open browser", host, fmt.Errorf("open browser: %w", err))
	}
	wait := time.NewTimer(timeout)
	defer wait.Stop()
	select {
	case r := <-results:
		if r.err != nil {
			return "", "", nil, "", r.err
		}
		return r.code, redirect, app, verifier, nil
	case <-wait.C:
		return "", "", nil, "", newError(KindNotCompleted, "sign in", host, fmt.Errorf("no redirect within %s", timeout))
	case <-ctx.Done():
		return "", "", nil, "", newError(KindNotCompleted, "sign in", host, ctx.Err())
	}
}

// pasteFlow registers for the out-of-band redirect and asks the user to
// paste the code the server shows.
func (c *Client) pasteFlow(ctx context.Context, server, host string, paste func(context.Context, string) (string, error)) (code, redirect string, app *mastodon.Application, verifier string, err error) {
	app, err = c.register(ctx, server, host, OOBRedirect)
	if err != nil {
		return "", "", nil, "", err
	}
	verifier = oauth2.GenerateVerifier()
	authURL := c.oauthConfig(server, app, OOBRedirect).AuthCodeURL(randomState(),
		oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("force_login", "true"))
	_ = c.cfg.OpenURL(authURL) // best effort: the app also shows the URL
	code, err = paste(ctx, authURL)
	if err != nil {
		return "", "", nil, "", newError(KindNotCompleted, "sign in", host, err)
	}
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 4096 {
		return "", "", nil, "", newError(KindBadCode, "sign in", host, errors.New("empty or oversized code"))
	}
	return code, OOBRedirect, app, verifier, nil
}

// SignOut revokes the account's token at its server (POST /oauth/revoke,
// RFC 7009) and removes the account from this device. The account is
// removed even if the server cannot revoke: then the error wraps
// ErrNotRevoked and tells the user to remove the app in the server's
// settings.
func (c *Client) SignOut(ctx context.Context, id string) error {
	c.mu.Lock()
	a, ok := c.accounts[id]
	c.mu.Unlock()
	if !ok {
		return newError(KindNotSignedIn, "sign out", domainOf(id), fmt.Errorf("no account %q", id))
	}
	cr, credErr := c.credentials(id)
	var revokeErr error
	if credErr == nil {
		revokeErr = c.revoke(ctx, a, cr)
	}
	delErr := c.cfg.Secrets.Delete(secretKey(id))
	c.mu.Lock()
	delete(c.accounts, id)
	saveErr := c.saveAccounts()
	c.mu.Unlock()
	if err := errors.Join(delErr, saveErr); err != nil {
		return &Error{Kind: KindOther, Op: "sign out", Host: a.Domain, Message: "The sign-in could not be removed from this device: " + err.Error(), Err: err}
	}
	if revokeErr != nil {
		u, _ := url.Parse(a.Server)
		host := a.Domain
		if u != nil {
			host = u.Host
		}
		return &Error{Kind: KindServer, Op: "sign out", Host: host,
			Message: fmt.Sprintf("Signed out on this device, but %s did not revoke Tributary's access. Remove it under authorized apps in your account settings there.", host),
			Err:     fmt.Errorf("%w: %w", ErrNotRevoked, revokeErr)}
	}
	return nil
}

func (c *Client) revoke(ctx context.Context, a Account, cr credentials) error {
	form := url.Values{"client_id": {a.ClientID}, "client_secret": {cr.ClientSecret}, "token": {cr.AccessToken}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.Server+"/oauth/revoke", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.apiHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /oauth/revoke: HTTP %d", resp.StatusCode)
	}
	return nil
}

// OpenBrowser opens an http(s) URL in the system browser (xdg-open on
// Linux and BSDs, open on macOS, the URL handler on Windows).
func OpenBrowser(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("refusing to open %q in a browser", rawURL)
	}
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", rawURL)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", rawURL)
	default:
		cmd = exec.Command("xdg-open", rawURL)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

func displayName(a *mastodon.Account) string {
	if n := livepost.Sanitize(a.DisplayName, 100); n != "" {
		return n
	}
	return a.Username
}
