package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// tributaryTheme is Fyne's default theme with Tributary's colours: the teal
// of the icon as primary, and the red of its live dot for errors.
type tributaryTheme struct{}

var (
	teal      = color.NRGBA{0x0f, 0x8f, 0x9c, 0xff}
	tealLight = color.NRGBA{0x0b, 0x7a, 0x86, 0xff}
	liveRed   = color.NRGBA{0xe5, 0x39, 0x35, 0xff}
)

func (t *tributaryTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	switch n {
	case theme.ColorNamePrimary, theme.ColorNameHyperlink:
		if v == theme.VariantLight {
			return tealLight
		}
		return teal
	case theme.ColorNameError:
		return liveRed
	case theme.ColorNameFocus:
		return color.NRGBA{teal.R, teal.G, teal.B, 0x7f}
	case theme.ColorNameSelection:
		return color.NRGBA{teal.R, teal.G, teal.B, 0x40}
	}
	return theme.DefaultTheme().Color(n, v)
}

func (t *tributaryTheme) Font(s fyne.TextStyle) fyne.Resource { return theme.DefaultTheme().Font(s) }

func (t *tributaryTheme) Icon(n fyne.ThemeIconName) fyne.Resource {
	return theme.DefaultTheme().Icon(n)
}

func (t *tributaryTheme) Size(n fyne.ThemeSizeName) float32 { return theme.DefaultTheme().Size(n) }
