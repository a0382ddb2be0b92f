package relay

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Instance relays (docs/RELAY.md, "Instance relays"): a relay tied to one
// Mastodon-API server lets that server's members in with the account they
// already have. A member's client POSTs its account access token to
// /auth/grant (the URL the instance's /.well-known/moq names as "grant");
// the relay asks the instance who the token belongs to
// (GET /api/v1/accounts/verify_credentials) and answers with a short-lived
// grant signed by its own secret: watch, and publish under
// <instance domain>/<username>. The account token is never logged, stored
// or sent anywhere but the instance; the relay keeps only a hash of it, for
// a short cache.

// GrantPath is where an instance relay exchanges account tokens for grants.
const GrantPath = "/auth/grant"

// Limits of the account check.
const (
	// accountCacheTTL is how long an account check is reused: a revoked
	// token is refused at most this long after its revocation.
	accountCacheTTL = 30 * time.Second
	// accountFailTTL is how long a refused token stays refused without
	// asking the instance again.
	accountFailTTL = 10 * time.Second
	// maxAccountCache bounds the cache of checked tokens.
	maxAccountCache = 4096
	// maxAccountChecks bounds the checks waiting for the instance at once;
	// more get 503 at once.
	maxAccountChecks = 32
	// maxAccountBytes bounds a verify_credentials answer.
	maxAccountBytes = 64 << 10
	// maxAccountTokenBytes bounds an account token accepted for checking.
	maxAccountTokenBytes = 2048
)

// Errors of the account check, told apart by /auth/grant's status code.
var (
	// ErrAccountRefused: the instance does not accept the token (forged,
	// expired, revoked) or the account may not use the relay.
	ErrAccountRefused = errors.New("relay: the instance does not accept this account token")
	// ErrInstanceDown: the instance could not be asked.
	ErrInstanceDown = errors.New("relay: the instance could not check the account")
)

// GrantResponse is /auth/grant's answer.
type GrantResponse struct {
	// Token is the grant (an AUTHORIZATION TOKEN for SETUP).
	Token string `json:"token"`
	// Subject is the member, user@domain.
	Subject string `json:"subject"`
	// Publish are the namespace prefixes the grant may publish under.
	Publish []string `json:"publish"`
	// Watch is true: members may watch.
	Watch bool `json:"watch"`
	// Expires is when the grant runs out (Unix seconds).
	Expires int64 `json:"expires"`
}

// member is what the instance said of an account token.
type member struct {
	username string
	err      error
	expires  time.Time
}

// accountChecker checks account tokens against the instance, with a cache
// keyed by the token's hash and a bound on checks in flight.
type accountChecker struct {
	base   string // https://social.example
	client *http.Client
	sem    chan struct{}

	mu    sync.Mutex
	cache map[[32]byte]member
}

func newAccountChecker(base string, client *http.Client) *accountChecker {
	if client == nil {
		client = &http.Client{
			Timeout:       5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &accountChecker{base: base, client: client, sem: make(chan struct{}, maxAccountChecks), cache: make(map[[32]byte]member)}
}

// check returns the username of the account that token belongs to.
func (a *accountChecker) check(ctx context.Context, token string) (string, error) {
	key := sha256.Sum256([]byte(token))
	now := time.Now()
	a.mu.Lock()
	m, ok := a.cache[key]
	a.mu.Unlock()
	if ok && now.Before(m.expires) {
		return m.username, m.err
	}
	select {
	case a.sem <- struct{}{}:
	default:
		return "", fmt.Errorf("%w: too many checks in progress", ErrInstanceDown)
	}
	user, err := a.ask(ctx, token)
	<-a.sem
	if errors.Is(err, ErrInstanceDown) {
		// Not cached: the instance may be back at the next try.
		return "", err
	}
	ttl := accountCacheTTL
	if err != nil {
		ttl = accountFailTTL
	}
	a.mu.Lock()
	if len(a.cache) >= maxAccountCache {
		for k, v := range a.cache {
			if now.After(v.expires) || len(a.cache) >= maxAccountCache {
				delete(a.cache, k)
			}
		}
	}
	a.cache[key] = member{username: user, err: err, expires: now.Add(ttl)}
	a.mu.Unlock()
	return user, err
}

// ask calls the instance's verify_credentials with token.
func (a *accountChecker) ask(ctx context.Context, token string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/api/v1/accounts/verify_credentials", nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInstanceDown, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		// The error names the URL only, never the header.
		return "", fmt.Errorf("%w: %v", ErrInstanceDown, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", fmt.Errorf("%w (HTTP %d)", ErrAccountRefused, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("%w: HTTP %d", ErrInstanceDown, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAccountBytes+1))
	if err != nil || len(body) > maxAccountBytes {
		return "", fmt.Errorf("%w: unreadable account", ErrInstanceDown)
	}
	var acct struct {
		Username  string `json:"username"`
		Acct      string `json:"acct"`
		Suspended bool   `json:"suspended"`
	}
	if err := json.Unmarshal(body, &acct); err != nil {
		return "", fmt.Errorf("%w: account: %v", ErrInstanceDown, err)
	}
	if acct.Suspended {
		return "", fmt.Errorf("%w: the account is suspended", ErrAccountRefused)
	}
	// A local account's acct is its bare username (Mastodon API).
	if !validUsername(acct.Username) || (acct.Acct != "" && acct.Acct != acct.Username) {
		return "", fmt.Errorf("%w: not a local account", ErrAccountRefused)
	}
	return strings.ToLower(acct.Username), nil
}

// validUsername accepts Mastodon-API usernames: letters, digits, '_', '.'
// and '-', at most 64 bytes, so one is always a single namespace field.
func validUsername(u string) bool {
	if u == "" || len(u) > 64 {
		return false
	}
	for _, c := range []byte(u) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return u[0] != '.'
}

// GrantURL is the relay's /auth/grant URL, or "" when it serves no instance.
func (r *Relay) GrantURL() string {
	if r.accounts == nil {
		return ""
	}
	return "https://" + r.cfg.PublicAddr + GrantPath
}

// Grant exchanges an account token for a grant of this relay's instance,
// as /auth/grant does.
func (r *Relay) Grant(ctx context.Context, accountToken string) (*GrantResponse, error) {
	if r.accounts == nil {
		return nil, errors.New("relay: this relay serves no instance")
	}
	if accountToken == "" || len(accountToken) > maxAccountTokenBytes {
		return nil, fmt.Errorf("%w: empty or oversized token", ErrAccountRefused)
	}
	user, err := r.accounts.check(ctx, accountToken)
	if err != nil {
		return nil, err
	}
	dom := r.cfg.InstanceDomain
	c := Claims{
		Subject: user + "@" + dom,
		Publish: []string{dom + "/" + user},
		Watch:   true,
		Expires: time.Now().Add(r.cfg.GrantTTL).Unix(),
	}
	tok, err := r.MintToken(c)
	if err != nil {
		return nil, err
	}
	return &GrantResponse{Token: tok, Subject: c.Subject, Publish: c.Publish, Watch: true, Expires: c.Expires}, nil
}

// serveGrant is POST /auth/grant: Authorization: Bearer <account token>.
func (r *Relay) serveGrant(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	fail := func(code int, msg string) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	if r.accounts == nil {
		fail(http.StatusNotFound, "this relay serves no instance")
		return
	}
	auth := req.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		fail(http.StatusUnauthorized, "an account access token is needed (Authorization: Bearer)")
		return
	}
	g, err := r.Grant(req.Context(), strings.TrimSpace(tok))
	switch {
	case errors.Is(err, ErrAccountRefused):
		r.countRefused("grant:refused")
		fail(http.StatusUnauthorized, "the instance "+r.cfg.InstanceDomain+" does not accept this account token")
		return
	case errors.Is(err, ErrInstanceDown):
		r.countRefused("grant:instance_down")
		r.log.Warn("relay: instance check failed", "instance", r.cfg.Instance, "err", err)
		w.Header().Set("Retry-After", "5")
		fail(http.StatusServiceUnavailable, "the instance "+r.cfg.InstanceDomain+" cannot check accounts right now")
		return
	case err != nil:
		fail(http.StatusInternalServerError, "no grant")
		return
	}
	r.log.Info("relay: grant issued", "subject", g.Subject, "expires", time.Unix(g.Expires, 0).UTC().Format(time.RFC3339))
	json.NewEncoder(w).Encode(g)
}
