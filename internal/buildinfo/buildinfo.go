// Package buildinfo reports which version of caddy-cloudwatch-mcp is
// compiled into the running binary. The version comes from the Go build
// information the linker embeds, not from a constant that someone must
// remember to bump: `xcaddy build --with
// github.com/mcpedge/caddy-cloudwatch-mcp@v1.2.3` reports v1.2.3, and a
// build from a local checkout reports "(devel)".
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// ModulePath is this project's Go module.
const ModulePath = "github.com/mcpedge/caddy-cloudwatch-mcp"

// Devel is the version of a build from a local checkout (a directory
// replacement, `go run`, `go test`), as the go command itself names it.
const Devel = "(devel)"

var version = sync.OnceValue(func() string {
	return FromBuildInfo(debug.ReadBuildInfo())
})

// Version returns the version of ModulePath in the running binary.
func Version() string { return version() }

// FromBuildInfo finds ModulePath in bi: the main module when the binary is
// built inside this repository, otherwise a dependency (how xcaddy builds
// Caddy). A replacement by a directory is a local checkout, whatever
// placeholder version the build named; a replacement by another module
// version reports that version.
func FromBuildInfo(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return Devel
	}
	if bi.Main.Path == ModulePath {
		return orDevel(bi.Main.Version)
	}
	for _, dep := range bi.Deps {
		if dep.Path != ModulePath {
			continue
		}
		if r := dep.Replace; r != nil {
			return orDevel(r.Version)
		}
		return orDevel(dep.Version)
	}
	return Devel
}

func orDevel(v string) string {
	if v == "" {
		return Devel
	}
	return v
}
