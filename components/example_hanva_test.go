package components_test

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/resources/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components"
	"github.com/hanva/hanva/components/pulumitest"
)

// A program of your own that stands up the whole HA NVA topology with one
// component, and exports the public IP and the monitor config. This is the
// example the README quotes; it runs here under mocks.
func ExampleNewHaNva() {
	program := func(ctx *pulumi.Context) error {
		rg, err := resources.NewResourceGroup(ctx, "rg", nil)
		if err != nil {
			return err
		}
		ha, err := components.NewHaNva(ctx, "ha", &components.HaNvaArgs{
			ResourceGroupName: rg.Name,
			SSHPublicKey:      pulumi.String("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnly you@example"),
			Zones:             []string{"1", "2", "3"},
		})
		if err != nil {
			return err
		}
		ctx.Export("publicIp", ha.NVAs.PublicIPAddress)
		ctx.Export("monitorConfig", ha.Monitor.Config)
		fmt.Println("active:", ha.ActiveNVA, "next hop:", ha.NVAs.NVAs[0].IPs[components.RoleInternal])
		return nil
	}
	err := pulumi.RunErr(program, pulumi.WithMocks("myproject", "dev", pulumitest.NewMocks()))
	fmt.Println(err)
	// Output:
	// active: ha-nvas-1 next hop: 10.0.0.100
	// <nil>
}
