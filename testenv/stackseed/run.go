package stackseed

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components/pulumitest"
	"github.com/hanva/hanva/components/stack"
	"github.com/hanva/hanva/testenv/lab"
)

// Run runs a Pulumi program under pulumitest mocks (no Pulumi CLI, no
// Azure) and converts what it declares (see Convert). The program returns
// the monitor config it generated (the Monitor component's Config, stack
// output monitorConfig).
func Run(program func(ctx *pulumi.Context) (pulumi.StringOutput, error)) (*lab.Stack, error) {
	m := pulumitest.NewMocks()
	var mu sync.Mutex
	var yml string
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		cfg, err := program(ctx)
		if err != nil {
			return err
		}
		cfg.ApplyT(func(s string) string {
			mu.Lock()
			yml = s
			mu.Unlock()
			return s
		})
		return nil
	}, pulumi.WithMocks(project, "drill", m))
	if err != nil {
		return nil, fmt.Errorf("run the Pulumi program under mocks: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if yml == "" {
		return nil, fmt.Errorf("run the Pulumi program under mocks: it generated no monitor config")
	}
	return Convert(m.All(), yml)
}

// Sample runs the real Pulumi program (components/stack, what `pulumi up`
// deploys) in sample mode under mocks and converts what it declares: the
// resource group "hanva" with components.HaNva "hanva" and the sample web
// tier, sized and set by o through the program's own stack config keys
// (Config). The monitor binary it names is a stand-in (the drill runs its
// own build).
//
// The program reads its config from PULUMI_CONFIG (pulumi.EnvConfig), as
// under the Pulumi CLI; Sample sets it for the run and restores it after,
// one run at a time.
func Sample(o lab.SampleOptions) (*lab.Stack, error) {
	dir, err := os.MkdirTemp("", "hanva-stackseed-")
	if err != nil {
		return nil, fmt.Errorf("declare the sample: %w", err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "nva-monitor")
	if err := os.WriteFile(bin, fakeLinuxAMD64(), 0o755); err != nil {
		return nil, fmt.Errorf("declare the sample: %w", err)
	}
	cfg, err := Config(o, bin)
	if err != nil {
		return nil, fmt.Errorf("declare the sample: %w", err)
	}
	var s *lab.Stack
	err = withConfig(cfg, func() error {
		var err error
		s, err = Run(func(ctx *pulumi.Context) (pulumi.StringOutput, error) {
			out, err := stack.Run(ctx)
			if err != nil {
				return pulumi.StringOutput{}, err
			}
			return out.MonitorConfig, nil
		})
		return err
	})
	return s, err
}

// Config returns the stack config (PULUMI_CONFIG's JSON map, keys in the
// project's namespace) under which the program declares the sample that o
// describes: mode sample, a test SSH key, the prebuilt monitor binary bin,
// the NVA and monitor counts, o.Settings and o.Steering (key steering, a
// JSON list, as the Pulumi CLI hands a list to the program). Zero counts
// and settings and an empty steering keep the program's defaults. Settings
// the program has no key for (probe timeout, success threshold) are
// refused.
func Config(o lab.SampleOptions, bin string) (map[string]string, error) {
	st := o.Settings
	if st.Probe.Timeout != 0 || st.Probe.SuccessThreshold != 0 {
		return nil, fmt.Errorf("stack config: the program has no key for the probe timeout or success threshold (settings %+v)", st.Probe)
	}
	cfg := map[string]string{
		project + ":mode":              "sample",
		project + ":sshPublicKey":      testSSHKey(),
		project + ":monitorBinaryPath": bin,
	}
	set := func(key string, v string, given bool) {
		if given {
			cfg[project+":"+key] = v
		}
	}
	set("nvaCount", strconv.Itoa(o.NVAs), o.NVAs != 0)
	set("monitorCount", strconv.Itoa(o.Monitors), o.Monitors != 0)
	set("probeInterval", st.Probe.Interval.String(), st.Probe.Interval != 0)
	set("failureThreshold", strconv.Itoa(st.Probe.FailureThreshold), st.Probe.FailureThreshold != 0)
	set("failback", st.Failback, st.Failback != "")
	set("failbackHoldoff", st.FailbackHoldoff.String(), st.FailbackHoldoff != 0)
	set("minFailoverInterval", st.MinFailoverInterval.String(), st.MinFailoverInterval != 0)
	set("leaseDuration", st.LeaseDuration.String(), st.LeaseDuration != 0)
	if len(o.Steering) > 0 {
		b, err := json.Marshal(o.Steering)
		if err != nil {
			return nil, fmt.Errorf("stack config: steering: %w", err)
		}
		set("steering", string(b), true)
	}
	return cfg, nil
}

// project is the Pulumi project name (Pulumi.yaml), the namespace of the
// program's config keys.
const project = "hanva"

// envMu serializes the runs that set the process-wide PULUMI_CONFIG.
var envMu sync.Mutex

// withConfig runs fn with PULUMI_CONFIG set to cfg and restores it after.
func withConfig(cfg map[string]string, fn func() error) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode stack config: %w", err)
	}
	envMu.Lock()
	defer envMu.Unlock()
	prev, had := os.LookupEnv(pulumi.EnvConfig)
	defer func() {
		if had {
			os.Setenv(pulumi.EnvConfig, prev)
		} else {
			os.Unsetenv(pulumi.EnvConfig)
		}
	}()
	if err := os.Setenv(pulumi.EnvConfig, string(b)); err != nil {
		return fmt.Errorf("set %s: %w", pulumi.EnvConfig, err)
	}
	return fn()
}

// testSSHKey is an OpenSSH ed25519 public key line the program accepts;
// under mocks nothing logs in with it.
func testSSHKey() string {
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	var blob []byte
	for _, p := range [][]byte{[]byte("ssh-ed25519"), pub} {
		blob = binary.BigEndian.AppendUint32(blob, uint32(len(p)))
		blob = append(blob, p...)
	}
	return "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + " hanva-drill"
}

// fakeLinuxAMD64 is the smallest file that reads as a linux/amd64
// executable: an ELF64 header and nothing else. The Monitor component only
// hashes the binary it is given; under mocks nothing runs it.
func fakeLinuxAMD64() []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1 // 64-bit, little-endian, version 1
	h[16] = 2                  // e_type ET_EXEC
	h[18] = 62                 // e_machine EM_X86_64
	h[20] = 1                  // e_version
	h[52] = 64                 // e_ehsize
	return h
}
