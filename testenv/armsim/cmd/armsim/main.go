// Command armsim serves the ARM emulator of package armsim over HTTPS for
// end-to-end tests that run the monitor as a separate process.
//
//	armsim --listen 127.0.0.1:8443 --ca-out ca.pem [--seed seed.json] [--latency 1s] [--retry-after 10] [--token T]
//
// It prints "armsim listening on https://127.0.0.1:PORT" on stdout once it
// serves, writes the CA certificate (PEM) to --ca-out, and exits 0 on SIGTERM
// or SIGINT. Exit code 2 is a usage error, 1 a runtime failure.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hanva/hanva/testenv/armsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run serves until ctx is done and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("armsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8443", "address to listen on (port 0 picks a free port)")
	caOut := fs.String("ca-out", "", "file to write the CA certificate (PEM) to; clients trust it")
	seedFile := fs.String("seed", "", `JSON file {"resources":[{"id":"...","body":{...}}]} to seed`)
	latency := fs.Duration("latency", 0, "default LRO latency (e.g. 1s)")
	retryAfter := fs.Int("retry-after", 10, "Retry-After seconds on LRO responses (0 or negative: none)")
	token := fs.String("token", "", "if set, the only bearer token accepted")
	verbose := fs.Bool("v", false, "log every ARM request to stderr")
	throttling := fs.Bool("throttling", false, "throttle as Azure documents it (token buckets per subscription, region and principal; Microsoft.Network's 5-minute limits)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "armsim: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var seed armsim.SeedFile
	if *seedFile != "" {
		b, err := os.ReadFile(*seedFile)
		if err != nil {
			fmt.Fprintf(stderr, "armsim: read seed file: %v\n", err)
			return 2
		}
		if err := json.Unmarshal(b, &seed); err != nil {
			fmt.Fprintf(stderr, "armsim: decode seed file %s: %v\n", *seedFile, err)
			return 2
		}
	}
	if *retryAfter == 0 {
		*retryAfter = -1 // 0 would mean the default in Options
	}
	opts := armsim.Options{Addr: *listen, LROLatency: *latency, RetryAfter: *retryAfter, Token: *token,
		Throttling: armsim.Throttling{Enabled: *throttling}}
	if *verbose {
		opts.Logf = func(format string, a ...any) {
			fmt.Fprintf(stderr, "%s "+format+"\n", append([]any{time.Now().Format(time.RFC3339Nano)}, a...)...)
		}
	}
	srv, err := armsim.Start(opts)
	if err != nil {
		fmt.Fprintf(stderr, "armsim: %v\n", err)
		return 1
	}
	defer srv.Close()
	if err := srv.SeedAll(seed); err != nil {
		fmt.Fprintf(stderr, "armsim: seed from %s: %v\n", *seedFile, err)
		return 2
	}
	if *caOut != "" {
		if err := os.WriteFile(*caOut, srv.CAPEM(), 0o644); err != nil {
			fmt.Fprintf(stderr, "armsim: write CA certificate: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "armsim listening on %s\n", srv.URL())
	<-ctx.Done()
	return 0
}
