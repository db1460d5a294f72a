//go:build tools

// Package tools pins the versions of the developer tools the Makefile builds
// (staticcheck). It is a separate module so the tools' dependencies stay out
// of the product's go.mod.
package tools

import (
	_ "honnef.co/go/tools/cmd/staticcheck"
)
