//go:build race

package drill

// raceEnabled: the tests run under the race detector, so the monitor they
// start is built with it too.
const raceEnabled = true
