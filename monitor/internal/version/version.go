// Package version holds the build version of nva-monitor, set at link time:
//
//	go build -ldflags "-X github.com/hanva/hanva/monitor/internal/version.Version=v1.2.3" ./monitor/cmd/nva-monitor
package version

// Version is the release this binary was built from; "dev" when not stamped.
var Version = "dev"
