//go:build android || ios

package app

// defaultRelayEnabled: phones suspend background network servers and pay for
// mobile data, so the personal relay is off until the user turns it on.
const defaultRelayEnabled = false
