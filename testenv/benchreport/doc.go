// Command benchreport turns the output of hanva's benchmarks into a table
// a person reads and a JSON file a program reads.
//
// It reads `go test -bench` output on stdin, either `go test -json` events
// or the plain text, echoes it to stderr as it arrives (progress; -q keeps
// quiet), and when the input ends prints five tables on stdout:
//
//   - failover convergence (BenchmarkFailover in monitor/internal/act): per
//     route-table count, the engine's time to routes, public IP and both
//     converged, the same for the order mspnp/ha-nva used, and the ratios;
//   - failover by steering mode (BenchmarkSteering in monitor/internal/act):
//     per mode (routes, floatingIp, backendPool, dnsRecord) and route-table
//     count, the time from the decision to the mode's resources converged,
//     the ARM writes that moved traffic, and the ratio to the routes mode;
//   - failover at scale (BenchmarkScale in monitor/internal/act): per
//     route-table count and subscription count, against armsim with Azure's
//     documented throttling, the time to every table converged beside the
//     throttle floor (L + max(0, N - 200)/10 s for the fullest
//     subscription), their ratio, the excess in L, the 429s armsim
//     answered, the reads and writes the engine sent, and the mspnp/ha-nva
//     order computed as N x L;
//   - detection (BenchmarkDetection in testenv/e2e): per probe setting and
//     failure kind, time from the injected failure to the first failed
//     probe, to the NVA marked down and to the failover decision;
//   - resources (BenchmarkDaemonResources in testenv/e2e): the monitor's
//     VmRSS, VmHWM and CPU while probing.
//
// It writes the same figures, the parameters the benchmarks report (LRO
// latency, probe settings, window) and the machine (GOOS/GOARCH, CPU model
// and count, Go version) with the date to a JSON file (-o, default
// bench-results.json). Benchmarks it does not know are kept in the file's
// "benchmarks" list, as every parsed line is.
//
// Exit code 0 when benchmarks were read and none failed; 1 when the input
// holds a failure (the tables of what passed are printed, no file is
// written) or no benchmark at all; 2 on a usage error.
//
// Usage (what `make bench` runs):
//
//	go test -json -run '^$' -bench . -benchtime 3x ./monitor/internal/act/ | go run ./testenv/benchreport -o bench-results.json
//	go run ./testenv/benchreport < saved-bench.txt
package main
