//go:build race

package lab

// raceEnabled: the tests run under the race detector, so the monitor they
// start is built with it too.
const raceEnabled = true
