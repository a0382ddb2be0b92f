package fedi

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	apclient "github.com/go-ap/client"
	"github.com/mattn/go-mastodon"

	"github.com/tributary-live/tributary/fedi/internal/safehttp"
)

// Config configures a Client. The zero value is usable.
type Config struct {
	// Dir is where the account list is kept (default: os.UserConfigDir()/tributary).
	Dir string
	// Secrets keeps tokens (default: DefaultSecretStore(Dir): the OS
	// keyring if it answers, else Dir/secrets.json with mode 0600).
	Secrets SecretStore
	// OpenURL opens the sign-in page in the system browser (default: OpenBrowser).
	OpenURL func(url string) error
	// AllowLoopbackHTTP permits plain http to servers on 127.0.0.1, ::1 or
	// localhost, and lets post-named URLs point at loopback. For tests only.
	AllowLoopbackHTTP bool
	// RootCAs, when set, replaces the system's trusted roots (tests).
	RootCAs *x509.CertPool
	// Liveness confirms that a stream is live on its relay (the app plugs in
	// a MoQ TRACK_STATUS check). Nil: the relay's /.well-known/moq answer is
	// taken as confirmation.
	Liveness LivenessChecker
	// Logger receives diagnostics (never tokens). Default: discard.
	Logger *slog.Logger
	// AppName is the client name registered with servers (default "Tributary").
	AppName string
	// Website is the app's website sent at registration (optional).
	Website string
	// UserAgent is sent with every request (default "Tributary (fedi)").
	UserAgent string
	// RecheckInterval is how often Watch re-confirms the streams it lists
	// (default 60 s).
	RecheckInterval time.Duration
}

// Account is a signed-in Fediverse account.
type Account struct {
	// ID is the account's handle, username@domain; it names the account in
	// every call of this package.
	ID string `json:"id"`
	// Username is the local part of the handle.
	Username string `json:"username"`
	// Domain is the domain part of the handle.
	Domain string `json:"domain"`
	// Server is the base URL of the account's Mastodon API (https://host).
	Server string `json:"server"`
	// DisplayName is the account's display name, sanitised.
	DisplayName string `json:"display_name"`
	// Avatar is the URL of the account's avatar picture.
	Avatar string `json:"avatar"`
	// URL is the account's profile page.
	URL string `json:"url"`
	// ClientID is the OAuth client id registered for this account's sign-in.
	ClientID string `json:"client_id"`
	// SignedInAt is when the account was signed in on this device.
	SignedInAt time.Time `json:"signed_in_at"`
}

// credentials are the secret part of an account, kept in the SecretStore.
type credentials struct {
	AccessToken  string `json:"access_token"`
	ClientSecret string `json:"client_secret"`
}

// Client manages the Fediverse accounts signed in on this device and gives
// a Session per account.
type Client struct {
	cfg     Config
	log     *slog.Logger
	api     safehttp.Policy // for the user's own servers
	guard   safehttp.Policy // for URLs named by posts
	apiHTTP *http.Client
	guardC  *http.Client
	ap      *apclient.C

	mu       sync.Mutex
	accounts map[string]Account

	wkMu    sync.Mutex
	wkCache map[string]wkEntry
}

// New returns a Client reading the account list from cfg.Dir.
func New(cfg Config) (*Client, error) {
	if cfg.Dir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("fedi: no config directory: %w", err)
		}
		cfg.Dir = filepath.Join(d, "tributary")
	}
	if cfg.Secrets == nil {
		cfg.Secrets = DefaultSecretStore(cfg.Dir)
	}
	if cfg.OpenURL == nil {
		cfg.OpenURL = OpenBrowser
	}
	if cfg.AppName == "" {
		cfg.AppName = "Tributary"
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Tributary (fedi)"
	}
	if cfg.RecheckInterval <= 0 {
		cfg.RecheckInterval = time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Client{
		cfg: cfg,
		log: log,
		api: safehttp.Policy{
			AllowLoopbackHTTP: cfg.AllowLoopbackHTTP,
			MaxBody:           8 << 20,
			Timeout:           30 * time.Second,
			UserAgent:         cfg.UserAgent,
			RootCAs:           cfg.RootCAs,
		},
		guard: safehttp.Policy{
			AllowLoopbackHTTP: cfg.AllowLoopbackHTTP,
			Guard:             true,
			MaxBody:           1 << 20,
			Timeout:           10 * time.Second,
			UserAgent:         cfg.UserAgent,
			RootCAs:           cfg.RootCAs,
		},
		accounts: map[string]Account{},
		wkCache:  map[string]wkEntry{},
	}
	c.apiHTTP = c.api.Client()
	c.guardC = c.guard.Client()
	c.ap = apclient.New(apclient.WithHTTPClient(c.guardC), apclient.WithLogger(nil))
	if err := c.loadAccounts(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) accountsPath() string { return filepath.Join(c.cfg.Dir, "accounts.json") }

func (c *Client) loadAccounts() error {
	b, err := os.ReadFile(c.accountsPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fedi: account list: %w", err)
	}
	var list []Account
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("fedi: account list %s is damaged: %w", c.accountsPath(), err)
	}
	for _, a := range list {
		if a.ID != "" {
			c.accounts[a.ID] = a
		}
	}
	return nil
}

// saveAccounts writes the account list; c.mu must be held.
func (c *Client) saveAccounts() error {
	list := make([]Account, 0, len(c.accounts))
	for _, a := range c.accounts {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return writeFile0600(c.accountsPath(), b)
}

// Accounts lists the accounts signed in on this device, by ID.
func (c *Client) Accounts() []Account {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := make([]Account, 0, len(c.accounts))
	for _, a := range c.accounts {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return list
}

// SecretStorage names where tokens are kept ("keyring" or "file").
func (c *Client) SecretStorage() string { return c.cfg.Secrets.Kind() }

func secretKey(id string) string { return "account:" + id }

func (c *Client) credentials(id string) (credentials, error) {
	v, err := c.cfg.Secrets.Get(secretKey(id))
	if err != nil {
		if errors.Is(err, ErrSecretNotFound) {
			return credentials{}, &Error{Kind: KindUnauthorized, Op: "load sign-in", Host: domainOf(id),
				Message: "The sign-in for " + id + " is missing on this device. Please sign in again.", Err: err}
		}
		return credentials{}, &Error{Kind: KindOther, Op: "load sign-in", Message: "The stored sign-in could not be read: " + err.Error(), Err: err}
	}
	var cr credentials
	if err := json.Unmarshal([]byte(v), &cr); err != nil || cr.AccessToken == "" {
		return credentials{}, newError(KindUnauthorized, "load sign-in", domainOf(id), errors.New("stored sign-in is damaged"))
	}
	return cr, nil
}

func domainOf(id string) string {
	if i := strings.LastIndexByte(id, '@'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// Session is one signed-in account's view of the Fediverse: discovery of
// live streams on its home timeline, and announcements.
type Session struct {
	c      *Client
	mu     sync.Mutex // guards acct and the home relay fields
	acct   Account
	token  string
	secret string
	host   string
	mc     *mastodon.Client

	home   *HomeRelay // guarded by mu (homerelay.go)
	homeAt time.Time
	grant  *Grant
}

// Session returns the Session of a signed-in account.
func (c *Client) Session(id string) (*Session, error) {
	c.mu.Lock()
	a, ok := c.accounts[id]
	c.mu.Unlock()
	if !ok {
		return nil, newError(KindNotSignedIn, "open session", domainOf(id), fmt.Errorf("no account %q", id))
	}
	cr, err := c.credentials(id)
	if err != nil {
		return nil, err
	}
	return c.newSession(a, cr), nil
}

func (c *Client) newSession(a Account, cr credentials) *Session {
	u, _ := url.Parse(a.Server)
	host := a.Server
	if u != nil {
		host = u.Host
	}
	return &Session{c: c, acct: a, token: cr.AccessToken, secret: cr.ClientSecret, host: host, mc: c.mastodonClient(a.Server, a.ClientID, cr)}
}

func (c *Client) mastodonClient(server, clientID string, cr credentials) *mastodon.Client {
	mc := mastodon.NewClient(&mastodon.Config{Server: server, ClientID: clientID, ClientSecret: cr.ClientSecret, AccessToken: cr.AccessToken})
	mc.Client = *c.apiHTTP
	mc.UserAgent = c.cfg.UserAgent
	return mc
}

// Account returns the session's account.
func (s *Session) Account() Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acct
}

// Verify checks that the server still accepts the session's sign-in and
// refreshes the account's name and avatar (also in Client.Accounts).
func (s *Session) Verify(ctx context.Context) (Account, error) {
	me, err := s.mc.GetAccountCurrentUser(ctx)
	if err != nil {
		return s.Account(), wrap("verify sign-in", s.host, err)
	}
	s.mu.Lock()
	s.acct.DisplayName = displayName(me)
	s.acct.Avatar = me.Avatar
	s.acct.URL = me.URL
	a := s.acct
	s.mu.Unlock()
	s.c.mu.Lock()
	if old, ok := s.c.accounts[a.ID]; ok && (old.DisplayName != a.DisplayName || old.Avatar != a.Avatar || old.URL != a.URL) {
		s.c.accounts[a.ID] = a
		if err := s.c.saveAccounts(); err != nil {
			s.c.log.Warn("fedi: account list not saved", "err", err)
		}
	}
	s.c.mu.Unlock()
	return a, nil
}
