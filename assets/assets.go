// Package assets holds Tributary's embedded icon and desktop metadata.
package assets

import _ "embed"

//go:generate go run ./icongen -o icon.png

// IconPNG is the application icon, 512x512 PNG, drawn by ./icongen.
//
//go:embed icon.png
var IconPNG []byte
