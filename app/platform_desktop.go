//go:build !android && !ios

package app

// defaultRelayEnabled: on desktops the personal relay runs by default, so the
// app works with no account and no network (the embedded default).
const defaultRelayEnabled = true
