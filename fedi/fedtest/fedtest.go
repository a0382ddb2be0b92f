// Package fedtest starts two real GoToSocial instances on loopback that
// federate with each other over ActivityPub, for integration tests.
//
// Each instance runs behind its own small Go reverse proxy, the way an
// instance runs behind nginx: the proxy's address is the instance's public
// host (for example "127.0.0.1:41234"), GoToSocial itself listens on another
// loopback port. The proxy answers plain HTTP and, on the same port, TLS with
// a self-signed certificate (GoToSocial always asks for WebFinger over https;
// see front.go). Extra handlers can be mounted on the proxy with
// Instance.Handle.
//
// The GoToSocial binary and its web folder come from TRIBUTARY_GTS_BIN and
// TRIBUTARY_GTS_WEB (`source scripts/fixtures/gotosocial.sh`). Without them
// StartPair skips the test, or fails it when TRIBUTARY_REQUIRE_FIXTURES=1.
package fedtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Password is the password of every account StartPair creates. An account's
// e-mail address (its sign-in name) is its username + "@example.org".
const Password = "Tributary-Fedtest-Pass-4711"

// Email returns the sign-in e-mail address of a username made by StartPair.
func Email(username string) string { return username + "@example.org" }

// Instance is one running GoToSocial behind its front proxy.
type Instance struct {
	Name string // "a" or "b"
	Host string // the instance's public host: the proxy's address, e.g. "127.0.0.1:41234"
	Base string // "http://" + Host

	// RootCAs trusts the proxy's self-signed certificate, for clients that
	// talk to https:// + Host (both instances share one certificate).
	RootCAs *x509.CertPool
	// Cert is that certificate (for 127.0.0.1, ::1 and localhost), for
	// other loopback servers of a test that clients reach with RootCAs
	// (an instance's relay).
	Cert tls.Certificate

	// Dir is the instance's data folder (config, SQLite database, server.log),
	// removed by Stop.
	Dir string

	front *front
	gts   *gtsProcess

	mu     sync.Mutex
	tokens map[string]string // username -> access token

	stopOnce sync.Once
}

// Pair is two federating instances: A has the account alice; B has bob and
// carol, who both follow alice (the follows are accepted on A and known on
// both sides when StartPair returns).
type Pair struct {
	A, B *Instance
}

// Handle mounts h for pattern (an http.ServeMux pattern, e.g.
// "/.well-known/moq") on the instance's front proxy; every request no
// mounted handler matches goes to GoToSocial. Safe while serving.
func (i *Instance) Handle(pattern string, h http.Handler) {
	i.front.mux.Handle(pattern, h)
}

// Stop stops GoToSocial and the front proxy and removes the data folder.
// StartPair registers it with t.Cleanup; calling it again is harmless.
func (i *Instance) Stop() {
	i.stopOnce.Do(func() {
		if i.gts != nil {
			i.gts.stop()
		}
		if i.front != nil {
			i.front.close()
		}
		if i.Dir != "" {
			_ = os.RemoveAll(i.Dir)
		}
	})
}

// fixture returns the GoToSocial binary and web folder, or ends the test.
func fixture(t testing.TB) (bin, web string) {
	t.Helper()
	bin, web = os.Getenv("TRIBUTARY_GTS_BIN"), os.Getenv("TRIBUTARY_GTS_WEB")
	if bin == "" || web == "" {
		msg := "GoToSocial fixture missing: run `source scripts/fixtures/gotosocial.sh` (sets TRIBUTARY_GTS_BIN and TRIBUTARY_GTS_WEB)"
		if os.Getenv("TRIBUTARY_REQUIRE_FIXTURES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin, web
}

// StartPair starts instances A and B concurrently, creates alice on A and
// bob and carol on B, and makes bob and carol follow alice through the
// Mastodon API (follow requests accepted by alice). Everything is stopped
// when the test ends.
func StartPair(t testing.TB) *Pair {
	t.Helper()
	bin, web := fixture(t)
	begin := time.Now()
	cert, pool, err := newCert()
	if err != nil {
		t.Fatalf("fedtest: certificate: %v", err)
	}
	p := &Pair{}
	users := map[string][]string{"a": {"alice"}, "b": {"bob", "carol"}}
	type result struct {
		inst *Instance
		took time.Duration
		err  error
	}
	results := make(map[string]chan result)
	for _, name := range []string{"a", "b"} {
		ch := make(chan result, 1)
		results[name] = ch
		go func() {
			t0 := time.Now()
			inst, err := startInstance(name, bin, web, cert, pool, users[name])
			ch <- result{inst, time.Since(t0), err}
		}()
	}
	var errs []string
	var took [2]time.Duration
	for k, name := range []string{"a", "b"} {
		r := <-results[name]
		if r.inst != nil {
			inst := r.inst
			t.Cleanup(func() {
				if t.Failed() && inst.gts != nil {
					t.Logf("fedtest: last lines of instance %s (%s) log:\n%s", inst.Name, inst.Host, inst.gts.tail(40))
				}
				inst.Stop()
			})
		}
		if r.err != nil {
			errs = append(errs, fmt.Sprintf("instance %s: %v", name, r.err))
			continue
		}
		took[k] = r.took
		if name == "a" {
			p.A = r.inst
		} else {
			p.B = r.inst
		}
	}
	if len(errs) > 0 {
		t.Fatalf("fedtest: start GoToSocial: %s", strings.Join(errs, "; "))
	}
	ready := time.Since(begin)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, u := range []string{"bob", "carol"} {
		if err := follow(ctx, t, p.B, u, p.A, "alice"); err != nil {
			t.Fatalf("fedtest: %s follows alice: %v", u, err)
		}
	}
	t.Logf("fedtest: A=%s B=%s ready in %v (a %v, b %v), follows accepted after %v more",
		p.A.Host, p.B.Host, ready.Round(time.Millisecond), took[0].Round(time.Millisecond),
		took[1].Round(time.Millisecond), (time.Since(begin) - ready).Round(time.Millisecond))
	return p
}

// startInstance starts the front proxy, then GoToSocial with the given
// accounts. On error the returned Instance (if any) holds what must be stopped.
func startInstance(name, bin, web string, cert tlsCert, pool *x509.CertPool, users []string) (*Instance, error) {
	dir, err := os.MkdirTemp("", "tributary-fedtest-"+name+"-")
	if err != nil {
		return nil, err
	}
	inst := &Instance{Name: name, Dir: dir, RootCAs: pool, Cert: cert, tokens: map[string]string{}}
	inst.front, err = startFront(cert, filepath.Join(dir, "proxy.log"))
	if err != nil {
		return inst, err
	}
	inst.Host = inst.front.addr
	inst.Base = "http://" + inst.Host
	inst.gts, err = startGTS(bin, web, dir, inst.Host, users, inst.front.setBackend)
	if err != nil {
		return inst, err
	}
	return inst, nil
}

// follow makes follower (on from) follow target (on to): it resolves the
// target through a search with resolve=true (WebFinger and actor fetch
// across instances), follows it, has the target accept the follow request
// if its account is locked, and waits until both sides see the follow.
func follow(ctx context.Context, t testing.TB, from *Instance, follower string, to *Instance, target string) error {
	ftok := from.Token(t, follower)
	ttok := to.Token(t, target)

	var search struct {
		Accounts []account `json:"accounts"`
	}
	q := url.Values{"q": {"@" + target + "@" + to.Host}, "resolve": {"true"}, "type": {"accounts"}, "limit": {"5"}}
	if err := from.api(ctx, http.MethodGet, "/api/v2/search?"+q.Encode(), ftok, nil, &search); err != nil {
		return fmt.Errorf("resolve %s@%s: %w", target, to.Host, err)
	}
	var remoteID string
	for _, a := range search.Accounts {
		if a.Acct == target+"@"+to.Host {
			remoteID = a.ID
		}
	}
	if remoteID == "" {
		return fmt.Errorf("search on %s found no %s@%s: %+v", from.Host, target, to.Host, search.Accounts)
	}
	var rel relationship
	if err := from.api(ctx, http.MethodPost, "/api/v1/accounts/"+remoteID+"/follow", ftok, url.Values{}, &rel); err != nil {
		return fmt.Errorf("follow: %w", err)
	}

	// The target's side: accept the follow request once it has arrived
	// (GoToSocial accounts are locked by default), or see the follow.
	followerAcct := follower + "@" + from.Host
	err := poll(ctx, 30*time.Second, 200*time.Millisecond, func() (bool, error) {
		var reqs []account
		if err := to.api(ctx, http.MethodGet, "/api/v1/follow_requests?limit=80", ttok, nil, &reqs); err != nil {
			return false, err
		}
		for _, a := range reqs {
			if a.Acct == followerAcct {
				var r relationship
				if err := to.api(ctx, http.MethodPost, "/api/v1/follow_requests/"+a.ID+"/authorize", ttok, url.Values{}, &r); err != nil {
					return false, fmt.Errorf("authorize: %w", err)
				}
				return r.FollowedBy, nil
			}
		}
		// Not a request (any more): an unlocked account has the follower already.
		id, err := to.lookup(ctx, ttok, followerAcct)
		if err != nil || id == "" {
			return false, nil
		}
		r, err := to.relationship(ctx, ttok, id)
		return err == nil && r.FollowedBy, nil
	})
	if err != nil {
		return fmt.Errorf("%s never saw the follow from %s: %w", to.Host, followerAcct, err)
	}

	// The follower's side: the Accept has come back.
	err = poll(ctx, 30*time.Second, 200*time.Millisecond, func() (bool, error) {
		r, err := from.relationship(ctx, ftok, remoteID)
		return err == nil && r.Following, nil
	})
	if err != nil {
		return fmt.Errorf("the accept never reached %s: %w", from.Host, err)
	}
	return nil
}

// poll calls cond every interval until it reports true, returns an error,
// or timeout (or ctx) ends; at most timeout/interval+1 calls.
func poll(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; i <= int(timeout/interval); i++ {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %v", timeout)
		case <-tick.C:
		}
	}
	return fmt.Errorf("gave up after %v", timeout)
}
