// Command nva-monitor keeps Azure pointed at a healthy network virtual
// appliance: it probes the NVAs and, when the active one fails, rewrites the
// managed route tables' next hops and moves the public IPs to a standby.
//
//	nva-monitor run      --config F           the daemon
//	nva-monitor status   --config F [--json]  active NVA per resource, probe health, last failover
//	nva-monitor failover --config F --to NAME [--force] [--timeout D]
//	nva-monitor plan     --config F --to NAME the ARM changes a failover would make; makes none
//	nva-monitor validate --config F [--offline]
//	nva-monitor import-hanva [--lease-url URL] [--resolve | --via NAME --probe NVA=IP] [--out F] nvadaemon-remote.json
//	nva-monitor version
//
// Exit codes: 0 success, 1 runtime failure, 2 invalid configuration or usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hanva/hanva/monitor/config"
)

// DefaultConfigPath is where the monitor VMs' cloud-init writes the config.
const DefaultConfigPath = "/etc/hanva/nva-monitor.yaml"

// usageError is bad usage or bad configuration: exit code 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `nva-monitor keeps Azure route tables and public IPs on a healthy NVA.

Usage:
  nva-monitor run      [--config FILE]                 run the daemon
  nva-monitor status   [--config FILE] [--json]        active NVA per resource, probe health, last failover
  nva-monitor failover [--config FILE] --to NAME [--force] [--timeout D]
                                                       move every managed resource to NAME now; with a blob
                                                       lease, wait D for the leader, then withdraw the request
  nva-monitor plan     [--config FILE] --to NAME       print the ARM changes a failover to NAME would make
  nva-monitor validate [--config FILE] [--offline]     check the config, then Azure (resources, next hops,
                                                       IP forwarding, permissions, the monitor's own routes
                                                       to ARM and Storage)
  nva-monitor import-hanva --lease-url URL [--resolve] [--via [TABLE=]NIC] [--probe NVA=IP] [--out FILE] nvadaemon-remote.json
                                                       turn mspnp/ha-nva's daemon configuration into a hanva
                                                       config (stdout or FILE, 0600); what it cannot map goes
                                                       to stderr; secrets are never copied
  nva-monitor version                                  print the version

The config file defaults to ` + DefaultConfigPath + `.
Exit codes: 0 success, 1 runtime failure, 2 invalid configuration or usage.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "run":
		err = cmdRun(ctx, rest, stderr)
	case "status":
		err = cmdStatus(ctx, rest, stdout, stderr)
	case "failover":
		err = cmdFailover(ctx, rest, stdout, stderr)
	case "plan":
		err = cmdPlan(ctx, rest, stdout, stderr)
	case "validate":
		err = cmdValidate(ctx, rest, stdout, stderr)
	case "import-hanva":
		err = cmdImportHANVA(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		err = cmdVersion(stdout)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "nva-monitor: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "nva-monitor %s: %v\n", cmd, err)
	var ue usageError
	var ve *config.ValidationError
	if errors.As(err, &ue) || errors.As(err, &ve) {
		return 2
	}
	return 1
}

// flags returns a flag set for a command with the common --config flag.
func flags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", DefaultConfigPath, "the monitor's configuration file (YAML or JSON)")
	return fs, path
}

// parse parses the flags; extra arguments are a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags go before nothing else; see nva-monitor %s --help)", fs.Arg(0), fs.Name())
	}
	return nil
}

// load reads and validates the config; every problem is a usage error (exit 2).
func load(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			return nil, err
		}
		return nil, usageError{err}
	}
	return cfg, nil
}
