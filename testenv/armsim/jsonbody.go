package armsim

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// object is a JSON object as decoded with UseNumber, so that every property a
// client sends, known or not, is stored and echoed verbatim.
type object = map[string]any

func decodeObject(b []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON body: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode JSON body: trailing data after the object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("decode JSON body: the body is not a JSON object")
	}
	return m, nil
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = deepCopy(e)
		}
		return a
	default:
		return v
	}
}

func copyObject(m object) object {
	if m == nil {
		return nil
	}
	return deepCopy(m).(map[string]any)
}

// sub returns m[key] as an object, or nil.
func sub(m object, key string) object {
	if m == nil {
		return nil
	}
	o, _ := m[key].(map[string]any)
	return o
}

// ensure returns m[key] as an object, creating it if absent or not an object.
func ensure(m object, key string) object {
	if o := sub(m, key); o != nil {
		return o
	}
	o := object{}
	m[key] = o
	return o
}

// str returns m[key] as a string ("" if absent or not a string).
func str(m object, key string) string {
	if m == nil {
		return ""
	}
	s, _ := m[key].(string)
	return s
}

// refID returns m[key].id, the form ARM uses for references ({"id": "..."}).
func refID(m object, key string) string {
	return str(sub(m, key), "id")
}

// objects returns m[key] as a list of objects, skipping non-objects.
func objects(m object, key string) []object {
	if m == nil {
		return nil
	}
	a, _ := m[key].([]any)
	out := make([]object, 0, len(a))
	for _, e := range a {
		if o, ok := e.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

func setObjects(m object, key string, list []object) {
	a := make([]any, len(list))
	for i, o := range list {
		a[i] = o
	}
	m[key] = a
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("armsim: marshal JSON: %v", err))
	}
	return b
}

func jsonResponse(status int, v any) response {
	return response{status: status, body: mustJSON(v)}
}

// armError builds ARM's error body: {"error":{"code":"...","message":"..."}}.
func armError(status int, code, message string) response {
	return jsonResponse(status, map[string]any{
		"error": map[string]any{"code": code, "message": message},
	})
}

// errorCode reads the code back from an ARM error body.
func errorCode(body []byte) (string, bool) {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
		return "", false
	}
	return e.Error.Code, true
}

func badRequest(code, message string) response {
	return armError(http.StatusBadRequest, code, message)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newETag returns a weak ETag in Microsoft.Network's form, W/"<uuid>".
func newETag() string { return `W/"` + newUUID() + `"` }
