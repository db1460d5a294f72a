// Command hanva is the Pulumi program of the project (Pulumi.yaml): it
// deploys high availability for network virtual appliances on Azure.
//
// mode sample (the default) stands up the seed's whole topology with
// components.HaNva (VNet, NVAs, route tables, public IP, monitors) and the
// test web tier of testenv.SampleWorkload. mode production wires the
// monitors into an existing VNet and existing NVAs, given by resource ID:
// only route tables, monitor VMs, their role and storage are created.
//
// Usage:
//
//	pulumi stack init dev
//	pulumi config set sshPublicKey -- "$(cat ~/.ssh/id_ed25519.pub)"
//	pulumi up
//	pulumi stack output sshCommand
//
// Every config key is declared, with its default and meaning, in
// Pulumi.yaml; a bad or missing one stops the program before it registers
// anything, with a message that names the key.
//
// The program's logic is package components/stack (stack.Program), so
// tests and the local drill run the same program under mocks.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hanva/hanva/components/stack"
)

func main() { pulumi.Run(stack.Program) }
