package fedi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/zalando/go-keyring"
)

// ErrSecretNotFound is returned by a SecretStore that has no value for a key.
var ErrSecretNotFound = errors.New("secret not found")

// SecretStore keeps secrets (access tokens and client secrets) by key.
// Implementations must not log values.
type SecretStore interface {
	// Get returns the value for key, or ErrSecretNotFound.
	Get(key string) (string, error)
	// Set stores value under key.
	Set(key, value string) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key string) error
	// Kind names the storage ("keyring" or "file") for the user.
	Kind() string
}

// keyringService is the service name under which secrets live in the OS keyring.
const keyringService = "tributary"

// KeyringStore keeps secrets in the OS keyring (Secret Service on Linux,
// Keychain on macOS, Credential Manager on Windows) via go-keyring.
type KeyringStore struct{}

// Get implements SecretStore.
func (KeyringStore) Get(key string) (string, error) {
	v, err := keyring.Get(keyringService, key)
	if errors.Is(err, keyring.ErrNotFound) {
		return "", ErrSecretNotFound
	}
	return v, err
}

// Set implements SecretStore.
func (KeyringStore) Set(key, value string) error { return keyring.Set(keyringService, key, value) }

// Delete implements SecretStore.
func (KeyringStore) Delete(key string) error {
	err := keyring.Delete(keyringService, key)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}

// Kind implements SecretStore.
func (KeyringStore) Kind() string { return "keyring" }

// FileStore keeps secrets in a JSON file readable only by the user (0600,
// in a 0700 directory). It is the fallback where there is no OS keyring.
type FileStore struct {
	// Path is the file, for example ~/.config/tributary/secrets.json.
	Path string
	mu   sync.Mutex
}

func (f *FileStore) load() (map[string]string, error) {
	m := map[string]string{}
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("secret file %s is damaged: %w", f.Path, err)
	}
	return m, nil
}

func (f *FileStore) save(m map[string]string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFile0600(f.Path, b)
}

// Get implements SecretStore.
func (f *FileStore) Get(key string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return "", err
	}
	v, ok := m[key]
	if !ok {
		return "", ErrSecretNotFound
	}
	return v, nil
}

// Set implements SecretStore.
func (f *FileStore) Set(key, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return err
	}
	m[key] = value
	return f.save(m)
}

// Delete implements SecretStore.
func (f *FileStore) Delete(key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return err
	}
	if _, ok := m[key]; !ok {
		return nil
	}
	delete(m, key)
	return f.save(m)
}

// Kind implements SecretStore.
func (f *FileStore) Kind() string { return "file" }

// writeFile0600 writes b to path atomically with mode 0600, creating the
// directory with mode 0700.
func writeFile0600(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(name, path)
}

// DefaultSecretStore returns the OS keyring if one answers (a probe entry
// is written, read back and deleted within two seconds), else a FileStore
// at dir/secrets.json. With a keyring, secrets written earlier to the file
// (when there was none) are still found, and deleted from both.
func DefaultSecretStore(dir string) SecretStore {
	file := &FileStore{Path: filepath.Join(dir, "secrets.json")}
	if keyringWorks(2 * time.Second) {
		return layered{primary: KeyringStore{}, older: file}
	}
	return file
}

// layered writes to primary and reads primary, then older.
type layered struct {
	primary, older SecretStore
}

// Get implements SecretStore.
func (l layered) Get(key string) (string, error) {
	v, err := l.primary.Get(key)
	if errors.Is(err, ErrSecretNotFound) {
		return l.older.Get(key)
	}
	return v, err
}

// Set implements SecretStore.
func (l layered) Set(key, value string) error {
	if err := l.primary.Set(key, value); err != nil {
		return err
	}
	return l.older.Delete(key)
}

// Delete implements SecretStore.
func (l layered) Delete(key string) error {
	return errors.Join(l.primary.Delete(key), l.older.Delete(key))
}

// Kind implements SecretStore.
func (l layered) Kind() string { return l.primary.Kind() }

func keyringWorks(timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan bool, 1)
	go func() {
		const probe = "probe"
		ok := keyring.Set(keyringService, probe, "1") == nil
		if ok {
			v, err := keyring.Get(keyringService, probe)
			ok = err == nil && v == "1"
			_ = keyring.Delete(keyringService, probe)
		}
		done <- ok
	}()
	select {
	case ok := <-done:
		return ok
	case <-ctx.Done():
		return false
	}
}
