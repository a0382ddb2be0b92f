package wire

import "fmt"

// Location identifies an Object within a Track,
// draft-ietf-moq-transport-18 §1.4.2 {#location-structure}.
type Location struct {
	Group  uint64
	Object uint64
}

// Compare returns -1, 0 or +1 as l is before, equal to or after o.
func (l Location) Compare(o Location) int {
	switch {
	case l.Group < o.Group:
		return -1
	case l.Group > o.Group:
		return 1
	case l.Object < o.Object:
		return -1
	case l.Object > o.Object:
		return 1
	}
	return 0
}

// Less reports whether l is before o (A.Group < B.Group, or equal groups and A.Object < B.Object).
func (l Location) Less(o Location) bool { return l.Compare(o) < 0 }

// String renders the location as {group,object}.
func (l Location) String() string { return fmt.Sprintf("{%d,%d}", l.Group, l.Object) }

// appendLocation appends the Location structure: Group (vi64), Object (vi64).
func appendLocation(b []byte, l Location) []byte {
	return AppendVarint(AppendVarint(b, l.Group), l.Object)
}
