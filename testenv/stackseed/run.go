package stackseed

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/pulumi/pulumi-azure-native-sdk/resources/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components"
	"github.com/hanva/hanva/components/pulumitest"
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
	}, pulumi.WithMocks("hanva", "drill", m))
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

// HaNva declares what the sample program (main.go, runSample) declares for
// the HA NVA deployment, components.NewHaNva "hanva" in resource group
// "hanva" with the default address plan and route table, sized and set by
// o, runs it under mocks and converts it. The monitor binary it names is a
// stand-in (the drill runs its own build); o.Settings become the Monitor's
// MonitorSettings.
func HaNva(o lab.SampleOptions) (*lab.Stack, error) {
	dir, err := os.MkdirTemp("", "hanva-stackseed-")
	if err != nil {
		return nil, fmt.Errorf("declare the sample: %w", err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "nva-monitor")
	if err := os.WriteFile(bin, fakeLinuxAMD64(), 0o755); err != nil {
		return nil, fmt.Errorf("declare the sample: %w", err)
	}
	return Run(func(ctx *pulumi.Context) (pulumi.StringOutput, error) {
		rg, err := resources.NewResourceGroup(ctx, "hanva", &resources.ResourceGroupArgs{Location: pulumi.String(lab.Location)})
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		st := o.Settings
		ha, err := components.NewHaNva(ctx, "hanva", &components.HaNvaArgs{
			ResourceGroupName: rg.Name,
			Location:          pulumi.String(lab.Location),
			NvaCount:          o.NVAs,
			MonitorCount:      o.Monitors,
			SSHPublicKey:      pulumi.String("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHanvaDrillNotARealKeyNotARealKeyNotAReal drill"),
			Monitor: components.MonitorSettings{Probe: st.Probe, Failback: st.Failback, FailbackHoldoff: st.FailbackHoldoff,
				MinFailoverInterval: st.MinFailoverInterval, LeaseDuration: st.LeaseDuration},
			MonitorBinaryPath: bin,
		})
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		return ha.Monitor.Config, nil
	})
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
