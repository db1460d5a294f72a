package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, time.Now))
}

// run reads benchmark output from stdin, prints the tables and writes the
// JSON file; it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time) int {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "bench-results.json", "the JSON file to write the figures to")
	command := fs.String("command", "make bench", "the command that produced the input, recorded in the file")
	quiet := fs.Bool("q", false, "do not echo the benchmark output to stderr as it arrives")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go test -json -bench ... | benchreport [-o bench-results.json] [-command TEXT] [-q]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "benchreport: unexpected arguments %q; the benchmark output comes on stdin\n", fs.Args())
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "benchreport: -o is empty; name the JSON file to write")
		return 2
	}

	var echo io.Writer = stderr
	if *quiet {
		echo = nil
	}
	in, err := Read(stdin, echo)
	if err != nil {
		fmt.Fprintf(stderr, "benchreport: %v\n", err)
		return 1
	}
	if len(in.Benchmarks) == 0 && len(in.Failures) == 0 {
		fmt.Fprintln(stderr, "benchreport: no benchmark result in the input; pipe `go test -bench` output into it")
		return 1
	}
	r := Build(in, *command, now())
	fmt.Fprintln(stdout)
	Print(stdout, r)
	if len(in.Failures) > 0 {
		fmt.Fprintf(stderr, "\nbenchreport: %d failure(s) in the benchmark run; %s not written:\n", len(in.Failures), *out)
		for _, f := range in.Failures {
			fmt.Fprintf(stderr, "  %s\n", f)
		}
		return 1
	}
	if err := writeJSON(*out, r); err != nil {
		fmt.Fprintf(stderr, "benchreport: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nThe same figures, with the parameters and the machine: %s\n", *out)
	return 0
}

func writeJSON(path string, r Results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}
