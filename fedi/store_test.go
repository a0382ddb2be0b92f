package fedi

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestLayeredStore(t *testing.T) {
	dir := t.TempDir()
	older := &FileStore{Path: filepath.Join(dir, "old.json")}
	primary := &FileStore{Path: filepath.Join(dir, "new.json")}
	if err := older.Set("a", "1"); err != nil {
		t.Fatal(err)
	}
	l := layered{primary: primary, older: older}
	if v, err := l.Get("a"); err != nil || v != "1" {
		t.Fatalf("older value: %q %v", v, err)
	}
	if err := l.Set("a", "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := older.Get("a"); !errors.Is(err, ErrSecretNotFound) {
		t.Fatal("older copy kept after moving")
	}
	if v, _ := l.Get("a"); v != "2" {
		t.Fatalf("got %q", v)
	}
	if err := l.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Get("a"); !errors.Is(err, ErrSecretNotFound) {
		t.Fatal("not deleted")
	}
	if err := l.Delete("missing"); err != nil {
		t.Fatal(err)
	}
}
