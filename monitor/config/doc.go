// Package config is nva-monitor's configuration: the Config type, and the
// loading, defaulting, validation and marshalling around it. It is the
// contract between the Pulumi components, which build a Config from the
// resources they create and marshal it into cloud-init, and the daemon, which
// loads the same type. It imports only the standard library and yaml.v3.
//
// The daemon loads a file:
//
//	cfg, err := config.Load("/etc/hanva/nva-monitor.yaml")
//	var invalid *config.ValidationError
//	if errors.As(err, &invalid) {
//		fmt.Fprintln(os.Stderr, err) // one "config: line N: field: what and how to fix" per line
//		os.Exit(2)
//	} else if err != nil {
//		return err // could not read the file
//	}
//	// cfg has defaults applied and is valid.
//
// A Pulumi component builds one and marshals it:
//
//	cfg := config.Config{
//		NVAs: []config.NVA{
//			{Name: "nva-1", Probe: config.Probe{Address: "10.0.1.4:22"}, NICs: map[string]string{"internal": nic1}},
//			{Name: "nva-2", Probe: config.Probe{Address: "10.0.1.5:22"}, NICs: map[string]string{"internal": nic2}},
//		},
//		RouteTables: []config.RouteTable{{ID: rt, Via: "internal"}},
//	}
//	if err := cfg.Validate(); err != nil { // zero fields count as their defaults
//		return err
//	}
//	yamlBytes, err := cfg.Marshal()
//
// Route tables and public IPs are two of five ways to steer traffic to the
// active NVA; a Config lists at least one resource of any of them. The other
// three are floating private IPs (a secondary ipconfig that moves between the
// NVAs' NICs of a role), IP-based backend pools of a load balancer, and A or
// AAAA record sets of a Private DNS zone. The last two are child resources,
// whose IDs ParseChildResourceID reads:
//
//	cfg.FloatingIPs = []config.FloatingIP{{IP: "10.0.1.50", Via: "internal"}} // ipconfig hanva-floating-10-0-1-50
//	cfg.BackendPools = []config.BackendPool{{ID: lb + "/backendAddressPools/nva-active", Via: "internal"}}
//	cfg.DNSRecords = []config.DNSRecord{{ID: zone + "/A/proxy", Via: "internal"}}
//	pool, err := config.ParseChildResourceID(cfg.BackendPools[0].ID)
//	// pool.IsType(config.TypeBackendAddressPool); pool.Parent() is the load balancer
//
// Several monitors share one NVA pair: each lists them all in Monitors, has
// its own Instance among them (by default its host name), and one blob lease
// elects the monitor that writes to ARM. Whoever builds the storage client
// splits the lease URL with Parse:
//
//	cfg.Monitors = []string{"monitor-1", "monitor-2", "monitor-3"}
//	cfg.Lease = config.Lease{Kind: config.LeaseBlob, URL: "https://sthanva.blob.core.windows.net/hanva/dmz/leader"}
//	// after Load: Quorum majority, ViewInterval 5s, lease Duration 15s, credential managedIdentity
//	loc, err := cfg.Lease.Parse() // {ServiceURL: "https://sthanva.blob.core.windows.net", Account: "sthanva", Container: "hanva", Blob: "dmz/leader"}
//
// Parse is strict: unknown keys (with a "did you mean"), missing required
// keys, values of the wrong shape, durations that are not Go duration strings
// ("15s", never a bare 15) and a second YAML document are all errors, and every
// problem in a file is reported at once. JSON is accepted, since JSON is YAML.
// testdata/example.yaml is a complete, commented example; testdata/bad holds
// one file per kind of mistake, each naming in its first line the field that
// is wrong.
package config
