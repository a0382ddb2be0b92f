package relay

import (
	"context"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// Namespace discovery: SUBSCRIBE_NAMESPACE (draft-18 §9.16) lists the
// namespaces published on this relay (PUBLISH_NAMESPACE, PUBLISH and
// Relay.Publish) under a prefix, then reports each one appearing or going
// away. Broadcasts pulled from other relays are not listed.

// maxNamespaceBacklog bounds the events queued for one namespace
// subscriber; one that falls further behind is ended (it may subscribe
// again and get the current list).
const maxNamespaceBacklog = 256

type nsWatcher struct {
	prefix wire.Namespace
	ch     chan moq.NamespaceEvent
	closed bool
}

type localNS struct {
	ns    wire.Namespace
	count int
}

// namespaceUpLocked counts one more publication of ns and tells watchers
// when it is the first.
func (r *Relay) namespaceUpLocked(ns wire.Namespace) {
	k := namespacePath(ns)
	l := r.localNS[k]
	if l == nil {
		l = &localNS{ns: ns}
		r.localNS[k] = l
	}
	l.count++
	if l.count == 1 {
		r.notifyLocked(moq.NamespaceEvent{Namespace: ns, Active: true})
	}
}

// namespaceDownLocked counts one publication of ns less and tells watchers
// when it was the last.
func (r *Relay) namespaceDownLocked(ns wire.Namespace) {
	k := namespacePath(ns)
	l := r.localNS[k]
	if l == nil {
		return
	}
	if l.count--; l.count <= 0 {
		delete(r.localNS, k)
		r.notifyLocked(moq.NamespaceEvent{Namespace: ns})
	}
}

func (r *Relay) notifyLocked(ev moq.NamespaceEvent) {
	for _, w := range r.nsWatchers {
		if w.closed || !ev.Namespace.HasPrefix(w.prefix) {
			continue
		}
		select {
		case w.ch <- ev:
		default:
			w.closed = true
			close(w.ch)
		}
	}
}

// onSubscribeNamespace answers SUBSCRIBE_NAMESPACE (Config.OnSubscribeNamespace).
func (r *Relay) onSubscribeNamespace(ctx context.Context, s *moq.Session, prefix wire.Namespace) (<-chan moq.NamespaceEvent, error) {
	p, err := r.peerFor(s)
	if err != nil {
		return nil, r.refuse(wire.RequestUnauthorized, "session refused: %v", err)
	}
	if err := r.mayWatch(p, p.grants); err != nil {
		return nil, err
	}
	w := &nsWatcher{prefix: prefix, ch: make(chan moq.NamespaceEvent, maxNamespaceBacklog)}
	r.mu.Lock()
	for _, l := range r.localNS {
		if l.ns.HasPrefix(prefix) && len(w.ch) < cap(w.ch) {
			w.ch <- moq.NamespaceEvent{Namespace: l.ns, Active: true}
		}
	}
	r.nsWatchers = append(r.nsWatchers, w)
	r.mu.Unlock()
	context.AfterFunc(ctx, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for i, x := range r.nsWatchers {
			if x == w {
				r.nsWatchers = append(r.nsWatchers[:i], r.nsWatchers[i+1:]...)
				break
			}
		}
	})
	return w.ch, nil
}
