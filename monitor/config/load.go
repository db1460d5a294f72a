package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// hostname gives Instance its default; tests replace it.
var hostname = os.Hostname

// fallbackInstance is the Instance when the host name cannot be read.
const fallbackInstance = "nva-monitor"

// Load reads the configuration file at path; see Parse. A file that cannot be
// read gives a plain error wrapping the *fs.PathError; anything wrong with its
// content gives a *ValidationError.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data)
}

// Parse decodes one YAML (or JSON) document strictly, defaults Instance to
// the host name, applies the other defaults and validates. Every problem it
// finds — unknown or missing keys, wrong shapes, bad durations, then invalid
// values — is reported at once in a *ValidationError, with the field path and,
// where known, the line. Validation runs only once the file decodes cleanly.
func Parse(data []byte) (*Config, error) {
	c, lines, err := decode(data)
	if err != nil {
		return nil, err
	}
	fromHost := c.Instance == ""
	if fromHost {
		c.Instance = fallbackInstance
		if h, err := hostname(); err == nil && h != "" {
			c.Instance = h
		}
	}
	c.ApplyDefaults()
	if err := c.validate(fromHost); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ve.locate(lines)
		}
		return nil, err
	}
	return c, nil
}

func invalid(p ...Problem) *ValidationError { return &ValidationError{Problems: p} }

// decode turns data into a Config without defaults or validation, and maps
// each field path written in data to its line.
func decode(data []byte) (*Config, map[string]int, error) {
	const empty = "the file is empty; it needs at least nvas and a route table or public IP " +
		"(see monitor/config/testdata/example.yaml)"
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil, invalid(Problem{Message: empty})
	} else if err != nil {
		return nil, nil, invalid(syntaxProblem(err))
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, nil, invalid(Problem{Line: next.Line, Message: fmt.Sprintf(
			"a second YAML document starts at line %d; the configuration is a single document, "+
				"so remove the \"---\" and anything after it", next.Line)})
	} else if !errors.Is(err, io.EOF) {
		return nil, nil, invalid(syntaxProblem(err))
	}
	if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].ShortTag() == "!!null") {
		return nil, nil, invalid(Problem{Message: empty})
	}

	w := newSchemaWalker()
	w.value(doc.Content[0], configType, "")
	if len(w.problems) > 0 {
		return nil, nil, invalid(w.problems...)
	}

	// The walker found nothing, so the strict decoder should not either; if
	// it does, its word is final.
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	var c Config
	if err := strict.Decode(&c); err != nil {
		return nil, nil, decodeError(err)
	}
	return &c, w.lines, nil
}

var (
	syntaxRE  = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	terrRE    = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownRE = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// syntaxProblem turns a yaml.v3 parse error into a Problem with its line.
func syntaxProblem(err error) Problem {
	msg := err.Error()
	line := 0
	if m := syntaxRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	msg = "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")
	if strings.Contains(msg, "cannot start any token") {
		msg += " (tabs cannot indent YAML; use spaces)"
	}
	return Problem{Line: line, Message: msg}
}

// decodeError turns a yaml.v3 decoding error into a *ValidationError.
func decodeError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return invalid(syntaxProblem(err))
	}
	ve := &ValidationError{}
	for _, s := range te.Errors {
		p := Problem{Message: s}
		if m := terrRE.FindStringSubmatch(s); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Message = m[2]
		}
		if m := unknownRE.FindStringSubmatch(p.Message); m != nil {
			p.Message = fmt.Sprintf("unknown key %q", m[1])
		}
		ve.Problems = append(ve.Problems, p)
	}
	return ve
}
