package stack

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// projectFile is the program's Pulumi.yaml, at the module root.
const projectFile = "../../Pulumi.yaml"

// loadProject loads Pulumi.yaml with the Pulumi SDK's own loader, which
// checks it against the project file's JSON schema and validates typed
// config defaults.
func loadProject(t *testing.T) *workspace.Project {
	t.Helper()
	proj, err := workspace.LoadProject(projectFile)
	if err != nil {
		t.Fatalf("Pulumi.yaml: %v", err)
	}
	return proj
}

func TestPulumiYAMLIsAGoProjectThatRefreshesBeforeEveryUpdate(t *testing.T) {
	proj := loadProject(t)
	if proj.Name.String() != project {
		t.Errorf("project name %q, want %q (the config namespace)", proj.Name, project)
	}
	if proj.Runtime.Name() != "go" {
		t.Errorf("runtime %q, want go", proj.Runtime.Name())
	}
	if proj.Description == nil || *proj.Description == "" {
		t.Error("no description")
	}
	// A refresh before every update keeps Pulumi from sending a stale next
	// hop back after a failover.
	if proj.Options == nil || proj.Options.Refresh != "always" {
		t.Errorf("options.refresh = %+v, want always", proj.Options)
	}
}

// cliForm writes a Pulumi.yaml default the way the Pulumi CLI hands config
// to the program: strings as they are, numbers in decimal, arrays as JSON.
func cliForm(t *testing.T, v any) string {
	t.Helper()
	switch x := v.(type) {
	case string:
		return x
	case int, float64:
		return fmt.Sprint(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

func TestPulumiYAMLDeclaresExactlyTheKeysTheProgramReadsWithTheSameDefaults(t *testing.T) {
	proj := loadProject(t)
	var declared, read []string
	for k := range proj.Config {
		declared = append(declared, k)
	}
	for k := range defaults {
		read = append(read, k)
	}
	read = append(read, required...)
	sort.Strings(declared)
	sort.Strings(read)
	if !slices.Equal(declared, read) {
		t.Fatalf("Pulumi.yaml declares %v\nthe program reads %v", declared, read)
	}
	for _, k := range declared {
		c := proj.Config[k]
		if !c.IsExplicitlyTyped() || c.Description == "" {
			t.Errorf("%s: type %q, description %q; every key needs both", k, c.TypeName(), c.Description)
		}
		def, hasDefault := defaults[k]
		switch {
		case slices.Contains(required, k) && c.Default != nil:
			t.Errorf("%s is required by the program but has default %v in Pulumi.yaml", k, c.Default)
		case hasDefault && c.Default == nil:
			t.Errorf("%s has no default in Pulumi.yaml, so the CLI would require it; the program defaults it to %q", k, def)
		case hasDefault && cliForm(t, c.Default) != def:
			t.Errorf("%s: Pulumi.yaml default %q, program default %q", k, cliForm(t, c.Default), def)
		}
		if slices.Contains(required, k) && !strings.HasPrefix(c.Description, "Required") {
			t.Errorf("%s is required; its description should say so first: %q", k, c.Description)
		}
	}
}

func TestCheckSSHKey(t *testing.T) {
	tests := []struct {
		name, key, wantErr string
	}{
		{"an ed25519 key", ed25519Key(), ""},
		{"a 2048-bit RSA key", rsaKey(2048), ""},
		{"a 4096-bit RSA key without a comment", strings.TrimSuffix(rsaKey(4096), " test@hanva"), ""},
		{"a 1024-bit RSA key", rsaKey(1024), "an RSA key of 1024 bits"},
		{"an empty value", "", "not an OpenSSH public key line"},
		{"a key without its data", "ssh-ed25519", "not an OpenSSH public key line"},
		{"key data that is not base64", "ssh-ed25519 !!!!", `the key data after "ssh-ed25519" is not base64`},
		{"an RSA key labelled ed25519", "ssh-ed25519 " + strings.Fields(rsaKey(2048))[1], "does not hold a ssh-ed25519 key"},
		{"a truncated ed25519 key", sshKeyLine("ssh-ed25519", make([]byte, 16)), "a truncated ssh-ed25519 key"},
		{"a truncated RSA key", sshKeyLine("ssh-rsa", []byte{1, 0, 1}), "a truncated ssh-rsa key"},
		{"a DSA key", sshKeyLine("ssh-dss", []byte{1}), "a ssh-dss key; Azure takes ssh-rsa"},
		{"a PEM private key", "-----BEGIN RSA PRIVATE KEY-----", "this is a PRIVATE key"},
	}
	for _, tt := range tests {
		err := checkSSHKey(tt.key)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestCheckSubnetID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{prodVNet + "/subnets/web", true},
		{strings.ToLower(prodVNet) + "/SUBNETS/web", true},
		{prodVNet, false},
		{prodVNet + "/subnets/", false},
		{prodVNet + "/subnets/web/extra", false},
		{prodNet + "/routeTables/rt/subnets/web", false},
		{"/subscriptions/not-a-guid/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/s", false},
		{"web", false},
	}
	for _, tt := range tests {
		if err := checkSubnetID(tt.id); (err == nil) != tt.ok {
			t.Errorf("checkSubnetID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
}
