package fedtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// oob is the out-of-band redirect URI: GoToSocial shows the code on a page.
const oob = "urn:ietf:wg:oauth:2.0:oob"

// apiClient talks to the front proxies (loopback only, no redirects needed).
var apiClient = &http.Client{Timeout: 20 * time.Second}

type account struct {
	ID   string `json:"id"`
	Acct string `json:"acct"`
	URL  string `json:"url"`
}

type relationship struct {
	ID         string `json:"id"`
	Following  bool   `json:"following"`
	FollowedBy bool   `json:"followed_by"`
	Requested  bool   `json:"requested"`
}

// apiError is a non-2xx answer of the Mastodon API.
type apiError struct {
	method, path string
	status       int
	body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.method, e.path, e.status, e.body)
}

// api calls the instance's API through its front proxy. A non-nil form is
// sent as application/x-www-form-urlencoded; out (if not nil) receives the
// JSON answer.
func (i *Instance) api(ctx context.Context, method, path, token string, form url.Values, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, i.Base+path, body)
	if err != nil {
		return err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := apiClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &apiError{method: method, path: path, status: resp.StatusCode, body: strings.TrimSpace(string(b))}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// lookup returns the instance's id for acct ("user" or "user@host") if the
// instance knows the account already; "" if not.
func (i *Instance) lookup(ctx context.Context, token, acct string) (string, error) {
	var a account
	err := i.api(ctx, http.MethodGet, "/api/v1/accounts/lookup?acct="+url.QueryEscape(acct), token, nil, &a)
	if e, ok := err.(*apiError); ok && e.status == http.StatusNotFound {
		return "", nil
	}
	return a.ID, err
}

func (i *Instance) relationship(ctx context.Context, token, id string) (relationship, error) {
	var rels []relationship
	if err := i.api(ctx, http.MethodGet, "/api/v1/accounts/relationships?id[]="+url.QueryEscape(id), token, nil, &rels); err != nil {
		return relationship{}, err
	}
	if len(rels) != 1 {
		return relationship{}, fmt.Errorf("relationships: %d answers", len(rels))
	}
	return rels[0], nil
}

// Token returns an OAuth access token (scopes "read write follow") for the
// account username on this instance. The first call for a username does
// what a real client does: it registers an app, signs in through
// GoToSocial's own sign-in and authorize forms, and exchanges the
// authorization code; later calls return the same token.
func (i *Instance) Token(t testing.TB, username string) string {
	t.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	if tok, ok := i.tokens[username]; ok {
		return tok
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tok, err := i.signIn(ctx, username)
	if err != nil {
		t.Fatalf("fedtest: token for %s on %s: %v", username, i.Host, err)
	}
	i.tokens[username] = tok
	return tok
}

func (i *Instance) signIn(ctx context.Context, username string) (string, error) {
	const scopes = "read write follow"
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	err := i.api(ctx, http.MethodPost, "/api/v1/apps", "", url.Values{
		"client_name":   {"fedtest"},
		"redirect_uris": {oob},
		"scopes":        {scopes},
	}, &app)
	if err != nil {
		return "", fmt.Errorf("register app: %w", err)
	}
	authURL := i.Base + "/oauth/authorize?" + url.Values{
		"client_id":     {app.ClientID},
		"redirect_uri":  {oob},
		"response_type": {"code"},
		"scope":         {scopes},
	}.Encode()
	code, err := playBrowser(ctx, i.Base, authURL, Email(username), Password)
	if err != nil {
		return "", err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = i.api(ctx, http.MethodPost, "/oauth/token", "", url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"client_id":     {app.ClientID},
		"client_secret": {app.ClientSecret},
		"redirect_uri":  {oob},
		"scope":         {scopes},
	}, &tok)
	if err != nil {
		return "", fmt.Errorf("exchange code: %w", err)
	}
	if tok.AccessToken == "" {
		return "", fmt.Errorf("exchange code: no access token")
	}
	return tok.AccessToken, nil
}

// playBrowser does what a person does in a browser: open the authorize URL
// (GoToSocial sends it to its sign-in page), submit e-mail and password,
// press "allow" on the authorize page, and read the code off the
// out-of-band page the server redirects to.
func playBrowser(ctx context.Context, base, authURL, email, password string) (string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	do := func(method, u string, form url.Values) (*http.Response, string, error) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, u, body)
		if err != nil {
			return nil, "", err
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp, string(b), err
	}
	resp, page, err := do(http.MethodGet, authURL, nil)
	if err != nil {
		return "", fmt.Errorf("open authorize URL: %w", err)
	}
	if !strings.Contains(page, `action="/auth/sign_in"`) {
		return "", fmt.Errorf("no sign-in form at %s (HTTP %d)", resp.Request.URL, resp.StatusCode)
	}
	resp, page, err = do(http.MethodPost, base+"/auth/sign_in", url.Values{"username": {email}, "password": {password}})
	if err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	if !strings.Contains(page, `action="/oauth/authorize"`) {
		return "", fmt.Errorf("sign in: no authorize form at %s (HTTP %d): %.300s", resp.Request.URL, resp.StatusCode, plainText(page))
	}
	resp, page, err = do(http.MethodPost, base+"/oauth/authorize", url.Values{})
	if err != nil {
		return "", fmt.Errorf("authorize: %w", err)
	}
	code := resp.Request.URL.Query().Get("code")
	if resp.StatusCode != http.StatusOK || code == "" {
		return "", fmt.Errorf("authorize: no code at %s (HTTP %d): %.300s", resp.Request.URL.Path, resp.StatusCode, plainText(page))
	}
	return code, nil
}

// plainText strips tags from an HTML page, for error messages.
func plainText(page string) string {
	var b strings.Builder
	inTag := false
	for _, r := range page {
		switch {
		case r == '<':
			inTag = true
		case r == '>':
			inTag = false
			b.WriteByte(' ')
		case !inTag:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// Authorize plays the user's browser for an authorization URL an app opened
// (its own sign-in flow): GoToSocial's sign-in form as username, then
// "allow". The server then redirects to the app's redirect URI (a loopback
// listener receives the code there).
func (i *Instance) Authorize(ctx context.Context, authURL, username string) error {
	_, err := playBrowser(ctx, i.Base, authURL, Email(username), Password)
	return err
}
