package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/BurntSushi/toml"
)

// SchemaVersion is the only `version` the files accept.
const SchemaVersion = 1

// readFile reads path for decoding; the error names the file.
func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config %q: %w", path, err)
	}
	return data, nil
}

// decodeStrict decodes data over v, which already holds the defaults. A syntax error, or a
// value its leaf type rejects, ends decoding and is returned as one FieldError. Otherwise the
// returned problems hold one FieldError per unknown key and carry the line index on to
// validation, so that every problem of the file is reported at once.
func decodeStrict(file string, data []byte, v any) (*problems, toml.MetaData, error) {
	p := &problems{file: file, lines: indexLines(data)}
	md, err := toml.Decode(string(data), v)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			pe = locate(pe, data)
			return p, md, &FieldError{File: file, Key: pe.LastKey, Line: pe.Position.Line, Err: pe}
		}
		return p, md, &FieldError{File: file, Err: err}
	}
	seen := map[string]int{}
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		plain := k.String()
		n := seen[plain]
		seen[plain]++
		undecoded[plain] = true
		if len(k) > 1 && undecoded[k[:len(k)-1].String()] {
			continue // report an unknown table once, not each key inside it
		}
		p.add(p.lines.occurrence(plain, n), "unknown key")
	}
	return p, md, nil
}

// locate sets the line and column of a syntax error from its byte offset. The lexer counts
// lines itself and is one short at the end of the input ("\"\\" is at line 0, which
// ErrorWithPosition indexes with, BurntSushi/toml#498) and one past after a newline.
func locate(pe toml.ParseError, data []byte) toml.ParseError {
	start := pe.Position.Start
	if start < 0 || start > len(data) {
		return pe
	}
	before := data[:start]
	pe.Position.Line = bytes.Count(before, []byte("\n")) + 1
	pe.Position.Col = start - bytes.LastIndexByte(before, '\n')
	return pe
}

// guarded runs parse and turns a panic in it (the TOML library's or the line index's) into an
// error naming file, and the line when the index was at one: no file, whatever it holds, may
// stop wpinit.
func guarded[T any](file string, parse func() (*T, error)) (out *T, err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		line := 0
		if lp, ok := r.(linePanic); ok {
			line, r = lp.line, lp.value
		}
		out, err = nil, &FieldError{File: file, Line: line, Err: fmt.Errorf("%w: %v", ErrParserFailed, r)}
	}()
	return parse()
}

// ErrParserFailed marks a file its parser could not read because of a bug (a panic): the file
// is refused, and the message is worth a bug report.
var ErrParserFailed = errors.New("the parser failed on this input (a bug: please report it)")

// checkVersion requires `version = 1` at the top of the file.
func (p *problems) checkVersion(md toml.MetaData, version int) {
	switch {
	case !md.IsDefined("version"):
		p.add("version", "missing: the file must start with version = %d", SchemaVersion)
	case version != SchemaVersion:
		p.add("version", "unsupported version %d: this wpinit reads version %d", version, SchemaVersion)
	}
}
