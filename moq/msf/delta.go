package msf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
)

// Delta operation names (draft-ietf-moq-msf, Section 5.1.6).
const (
	OpAdd    = "add"
	OpRemove = "remove"
	OpClone  = "clone"
	OpUpdate = "update"
)

// MaxOps is the most operations one delta update may hold.
const MaxOps = 256

// Delta is a delta update (Sections 5.1.6 and 5.3): operations applied in order
// to the current catalog.
type Delta struct {
	// GeneratedAt is the generation time in Unix milliseconds (Section 5.1.2).
	GeneratedAt int64 `json:"generatedAt"`
	// Ops are the operations, applied in order.
	Ops []Op `json:"deltaUpdate"`
}

// Op is one delta operation. Its tracks stay raw JSON objects because an
// update or clone changes only the fields it names.
type Op struct {
	Op     string            `json:"op"`
	Tracks []json.RawMessage `json:"tracks"`
}

// NewOp builds an operation from track objects; each is either a Track (all its
// non-zero fields, and isLive) or a map of the fields to set.
func NewOp(op string, tracks ...any) (Op, error) {
	o := Op{Op: op}
	for _, t := range tracks {
		b, err := json.Marshal(t)
		if err != nil {
			return Op{}, fmt.Errorf("msf: delta track: %w", err)
		}
		o.Tracks = append(o.Tracks, b)
	}
	return o, nil
}

// Marshal returns the delta update as JSON.
func (d *Delta) Marshal() ([]byte, error) {
	if len(d.Ops) == 0 {
		return nil, fmt.Errorf("%w: delta update without operations", ErrMalformed)
	}
	return json.Marshal(d)
}

func parseDelta(b []byte) (*Delta, error) {
	var d Delta
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%w: delta: %w", ErrMalformed, err)
	}
	if len(d.Ops) == 0 {
		return nil, fmt.Errorf("%w: delta update without operations", ErrMalformed)
	}
	if len(d.Ops) > MaxOps {
		return nil, fmt.Errorf("%w: %d delta operations", ErrTooLarge, len(d.Ops))
	}
	n := 0
	for i, op := range d.Ops {
		switch op.Op {
		case OpAdd, OpRemove, OpClone, OpUpdate:
		default:
			return nil, fmt.Errorf("%w: delta operation %d has op %q", ErrMalformed, i, op.Op)
		}
		if len(op.Tracks) == 0 {
			return nil, fmt.Errorf("%w: delta operation %d has no tracks", ErrMalformed, i)
		}
		n += len(op.Tracks)
		for j, t := range op.Tracks {
			if len(t) == 0 || t[0] != '{' {
				return nil, fmt.Errorf("%w: delta operation %d track %d is not an object", ErrMalformed, i, j)
			}
		}
	}
	if n > MaxTracks {
		return nil, fmt.Errorf("%w: %d tracks in a delta", ErrTooLarge, n)
	}
	return &d, nil
}

// Apply returns the catalog that results from applying d to base (Section 5.3);
// base is not modified. An operation that names a missing track, or adds one
// that exists, is an error and nothing is applied.
func Apply(base *Catalog, d *Delta) (*Catalog, error) {
	tracks := make([]map[string]json.RawMessage, 0, len(base.Tracks))
	for i := range base.Tracks {
		m, err := toMap(&base.Tracks[i])
		if err != nil {
			return nil, err
		}
		tracks = append(tracks, m)
	}
	for i, op := range d.Ops {
		for j, raw := range op.Tracks {
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(raw, &fields); err != nil {
				return nil, fmt.Errorf("%w: delta operation %d track %d: %w", ErrMalformed, i, j, err)
			}
			var id Track // only the identifying fields are read
			if err := json.Unmarshal(raw, &id); err != nil {
				return nil, fmt.Errorf("%w: delta operation %d track %d: %w", ErrMalformed, i, j, err)
			}
			var err error
			tracks, err = applyOne(tracks, op.Op, fields, &id)
			if err != nil {
				return nil, fmt.Errorf("delta operation %d (%s) track %d: %w", i, op.Op, j, err)
			}
			if len(tracks) > MaxTracks {
				return nil, fmt.Errorf("%w: %d tracks", ErrTooLarge, len(tracks))
			}
		}
	}
	out := *base
	out.GeneratedAt = d.GeneratedAt
	out.Tracks = make([]Track, len(tracks))
	for i, m := range tracks {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("msf: %w", err)
		}
		if err := json.Unmarshal(b, &out.Tracks[i]); err != nil {
			return nil, fmt.Errorf("%w: track after delta: %w", ErrMalformed, err)
		}
		out.Tracks[i].ParentName, out.Tracks[i].ParentNamespace = "", ""
	}
	if err := validateTracks(out.Tracks); err != nil {
		return nil, err
	}
	return &out, nil
}

func toMap(t *Track) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("msf: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("msf: %w", err)
	}
	return m, nil
}

func findMap(ts []map[string]json.RawMessage, namespace, name string) int {
	for i, m := range ts {
		var n, ns string
		_ = json.Unmarshal(m["name"], &n)
		if v, ok := m["namespace"]; ok {
			_ = json.Unmarshal(v, &ns)
		}
		if n == name && (namespace == "" || ns == namespace) {
			return i
		}
	}
	return -1
}

func applyOne(ts []map[string]json.RawMessage, op string, fields map[string]json.RawMessage, id *Track) ([]map[string]json.RawMessage, error) {
	delete(fields, "parentName")
	delete(fields, "parentNamespace")
	switch op {
	case OpAdd:
		if id.Name == "" {
			return nil, fmt.Errorf("%w: added track has no name", ErrMalformed)
		}
		if findMap(ts, id.Namespace, id.Name) >= 0 {
			return nil, fmt.Errorf("%w: added track %q exists", ErrMalformed, id.Name)
		}
		return append(ts, fields), nil
	case OpRemove:
		i := findMap(ts, id.Namespace, id.Name)
		if i < 0 {
			return nil, fmt.Errorf("%w: removed track %q not found", ErrMalformed, id.Name)
		}
		return append(ts[:i:i], ts[i+1:]...), nil
	case OpClone:
		if id.ParentName == "" || id.Name == "" {
			return nil, fmt.Errorf("%w: clone needs parentName and name", ErrMalformed)
		}
		p := findMap(ts, id.ParentNamespace, id.ParentName)
		if p < 0 {
			return nil, fmt.Errorf("%w: clone parent %q not found", ErrMalformed, id.ParentName)
		}
		ns := id.Namespace
		if ns == "" {
			var pns string
			_ = json.Unmarshal(ts[p]["namespace"], &pns)
			ns = pns
		}
		if findMap(ts, ns, id.Name) >= 0 {
			return nil, fmt.Errorf("%w: cloned track %q exists", ErrMalformed, id.Name)
		}
		m := maps.Clone(ts[p])
		maps.Copy(m, fields)
		return append(ts, m), nil
	case OpUpdate:
		name, ns := id.ParentName, id.ParentNamespace
		if name == "" {
			name, ns = id.Name, id.Namespace
		}
		i := findMap(ts, ns, name)
		if i < 0 {
			return nil, fmt.Errorf("%w: updated track %q not found", ErrMalformed, name)
		}
		m := maps.Clone(ts[i])
		maps.Copy(m, fields)
		ts[i] = m
		return ts, nil
	}
	return nil, fmt.Errorf("%w: op %q", ErrMalformed, op)
}

// Reader follows a catalog track object by object (Section 5): object 0 of a
// group holds an independent catalog, later objects of that group hold delta
// updates; updates from groups older than the newest independent catalog are
// ignored. It is a plain value with no goroutine; use one per subscription.
type Reader struct {
	cat   *Catalog
	group uint64
	next  uint64
}

// Catalog returns the current catalog, nil before the first independent one.
func (r *Reader) Catalog() *Catalog { return r.cat }

// Push feeds the payload of catalog object (group, object) and returns the
// current catalog and whether it changed. Stale objects are ignored without
// error; a delta that cannot be applied, or that skips an object, is an error
// and the current catalog is kept.
func (r *Reader) Push(group, object uint64, payload []byte) (*Catalog, bool, error) {
	if r.cat != nil && group < r.group {
		return r.cat, false, nil
	}
	cat, delta, err := Parse(payload)
	if err != nil {
		return r.cat, false, err
	}
	if object == 0 {
		if cat == nil {
			return r.cat, false, fmt.Errorf("%w: object 0 of group %d is a delta update", ErrMalformed, group)
		}
		r.cat, r.group, r.next = cat, group, 1
		return cat, true, nil
	}
	if cat != nil {
		return r.cat, false, fmt.Errorf("%w: object %d of group %d is an independent catalog", ErrMalformed, object, group)
	}
	if r.cat == nil || group != r.group {
		return r.cat, false, fmt.Errorf("%w: delta for group %d without its independent catalog", ErrMalformed, group)
	}
	if object < r.next {
		return r.cat, false, nil
	}
	if object != r.next {
		return r.cat, false, fmt.Errorf("%w: delta object %d of group %d after %d", ErrMalformed, object, group, r.next-1)
	}
	next, err := Apply(r.cat, delta)
	if err != nil {
		return r.cat, false, err
	}
	r.cat, r.next = next, object+1
	return next, true, nil
}

// Equal reports whether two catalogs encode to the same JSON.
func Equal(a, b *Catalog) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && bytes.Equal(ja, jb)
}
