package components_test

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components"
	"github.com/hanva/hanva/components/pulumitest"
)

// Network, NVA pair and route tables composed by hand, as in the package
// documentation (HaNva does this for you).
func Example_composition() {
	program := func(ctx *pulumi.Context) error {
		rgName := pulumi.String("rg-hanva")
		key := "ssh-ed25519 AAAA... you@example"

		ext, in := components.DefaultDmzExternalPrefix, components.DefaultDmzInternalPrefix
		hop, err := components.HostIP(in, components.DefaultNvaFirstHost) // the first NVA's internal IP
		if err != nil {
			return err
		}
		rts, err := components.NewRouteTables(ctx, "rt", &components.RouteTablesArgs{
			ResourceGroupName: rgName,
			Tables: []components.RouteTableSpec{{
				Name: "web-udr", Via: components.RoleInternal,
				Routes: []components.RouteSpec{{Name: "default", AddressPrefix: "0.0.0.0/0"}},
			}},
			NextHop: map[string]string{components.RoleInternal: hop},
		})
		if err != nil {
			return err
		}
		net, err := components.NewNetwork(ctx, "net", &components.NetworkArgs{
			ResourceGroupName: rgName,
			SubnetRouteTables: map[string]pulumi.StringInput{
				components.SubnetWeb: rts.Tables["web-udr"].ID(),
			},
		})
		if err != nil {
			return err
		}
		nvas, err := components.NewNvaPair(ctx, "nva", &components.NvaPairArgs{
			ResourceGroupName: rgName,
			SSHPublicKey:      pulumi.String(key),
			ExternalSubnetID:  net.DmzExternalSubnetID,
			InternalSubnetID:  net.DmzInternalSubnetID,
			ExternalPrefix:    ext,
			InternalPrefix:    in,
		})
		if err != nil {
			return err
		}
		fmt.Println(nvas.NVAs[0].IPs[components.RoleInternal] == hop, nvas.NVAs[1].IPs)
		return nil
	}
	err := pulumi.RunErr(program, pulumi.WithMocks("hanva", "example", pulumitest.NewMocks()))
	fmt.Println(err)
	// Output:
	// true map[external:10.0.0.69 internal:10.0.0.101]
	// <nil>
}
