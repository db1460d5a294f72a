//go:build race

package e2e

// raceEnabled: the tests run under the race detector, so the monitor binary
// they start is built with it too and its own data races fail the test.
const raceEnabled = true
