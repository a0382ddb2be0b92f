package wire

import (
	"reflect"
	"testing"
)

// nameCases is the table of safe-form renderings (round trip and FuzzNamespaceString seeds).
var nameCases = []struct {
	s     string
	track FullTrackName
}{
	{"example.2enet-team2-project_x--report", FullTrackName{Namespace: NewNamespace("example.net", "team2", "project_x"), Name: []byte("report")}},
	{"--", FullTrackName{}},
	{"a--", FullTrackName{Namespace: NewNamespace("a")}},
	{"--video", FullTrackName{Name: []byte("video")}},
	{".00.ff.2d-.2e--.20", FullTrackName{Namespace: Namespace{{0, 0xff, '-'}, {'.'}}, Name: []byte(" ")}},
	{"UPPER_lower09--x", FullTrackName{Namespace: NewNamespace("UPPER_lower09"), Name: []byte("x")}},
}

func TestNamespaceString(t *testing.T) {
	for _, c := range nameCases {
		if got := c.track.String(); got != c.s {
			t.Errorf("String() = %q, want %q", got, c.s)
		}
		got, err := ParseFullTrackNameString(c.s)
		if err != nil || !got.Namespace.Equal(c.track.Namespace) || string(got.Name) != string(c.track.Name) {
			t.Errorf("ParseFullTrackNameString(%q) = %v, %v", c.s, got, err)
		}
	}
	for _, bad := range []string{".61", ".4A", ".4", ".", "a.", "a-", "-a", "a--b-", "é", "a b", "a--.6"} {
		if _, err := ParseNamespaceString(bad); err == nil {
			if _, err := ParseFullTrackNameString(bad); err == nil {
				t.Errorf("%q accepted", bad)
			}
		}
	}
	if _, err := ParseNamespaceString(".61"); err == nil {
		t.Error("redundant hex accepted")
	}
	if _, err := ParseNamespaceString(".4A"); err == nil {
		t.Error("upper-case hex accepted")
	}
	ns, err := ParseNamespaceString("")
	if err != nil || len(ns) != 0 {
		t.Errorf("empty namespace: %v %v", ns, err)
	}
	if !NewNamespace("a", "b", "c").HasPrefix(NewNamespace("a", "b")) || NewNamespace("a").HasPrefix(NewNamespace("a", "b")) {
		t.Error("HasPrefix wrong")
	}
}

func TestProperties(t *testing.T) {
	var p Properties
	p.SetDefaultPublisherPriority(7)
	p.SetMaxCacheDuration(1000)
	p.SetDynamicGroups(true)
	p.SetDefaultGroupOrder(GroupOrderDescending)
	p.SetObjectDeliveryTimeout(20)
	p.SetSubgroupDeliveryTimeout(30)
	p.Add(KeyValue{Type: 0x3801, Bytes: []byte("a")})
	p.Add(KeyValue{Type: 0x3801, Bytes: []byte("b")})
	if err := p.SetImmutable(props(KeyValue{Type: PropPriorGroupIDGap, Value: 3}, KeyValue{Type: PropPriorObjectIDGap, Value: 4})); err != nil {
		t.Fatal(err)
	}
	p.SetDefaultPublisherPriority(9) // replaces
	if !p.Sorted() {
		t.Fatal("not sorted")
	}
	b, err := p.Append(nil)
	if err != nil || len(b) != p.Len() {
		t.Fatalf("Append: %v len %d vs %d", err, len(b), p.Len())
	}
	q, err := ParseProperties(b)
	if err != nil || !reflect.DeepEqual(q, p) {
		t.Fatalf("round trip: %v\n%v\n%v", err, q, p)
	}
	if v, ok := q.DefaultPublisherPriority(); !ok || v != 9 {
		t.Errorf("priority %d %v", v, ok)
	}
	if v, ok := q.DefaultGroupOrder(); !ok || v != GroupOrderDescending {
		t.Errorf("group order %d %v", v, ok)
	}
	if v, ok := q.MaxCacheDuration(); !ok || v != 1000 {
		t.Errorf("cache %d", v)
	}
	if v, ok := q.DynamicGroups(); !ok || !v {
		t.Error("dynamic groups")
	}
	if v, ok := q.ObjectDeliveryTimeout(); !ok || v != 20 {
		t.Error("object delivery timeout")
	}
	if v, ok := q.SubgroupDeliveryTimeout(); !ok || v != 30 {
		t.Error("subgroup delivery timeout")
	}
	if v, ok := q.PriorGroupIDGap(); !ok || v != 3 { // found inside immutable properties
		t.Errorf("prior group gap %d %v", v, ok)
	}
	if v, ok := q.PriorObjectIDGap(); !ok || v != 4 {
		t.Errorf("prior object gap %d %v", v, ok)
	}
	if v, ok := q.Bytes(0x3801); !ok || string(v) != "a" {
		t.Errorf("bytes %q", v)
	}
	q.Delete(0x3801)
	if _, ok := q.Bytes(0x3801); ok {
		t.Error("delete")
	}
	var def Properties
	if v, ok := def.DefaultPublisherPriority(); ok || v != 128 {
		t.Error("default priority should be 128")
	}
	nested := props(KeyValue{Type: PropImmutable, Bytes: vi(PropImmutable, 0)})
	if _, err := nested.Immutable(); err == nil {
		t.Error("nested immutable accepted")
	}
	if err := p.SetImmutable(nested); err == nil {
		t.Error("SetImmutable of nested accepted")
	}
}
