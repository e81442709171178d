package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// FieldError is one problem in a config file, located by dotted key and line.
type FieldError struct {
	File string // path of the file, as given to Load
	Key  string // dotted TOML key, e.g. "services.nginx.stop_timeout"; empty for syntax errors
	Line int    // 1-based line; 0 when unknown
	Err  error
}

func (e *FieldError) Error() string {
	msg := e.Err.Error()
	var pe toml.ParseError
	if errors.As(e.Err, &pe) {
		msg = printable(pe.Message, false) // the position is already in loc
	}
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", loc, msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, printable(e.Key, false), msg) // a quoted key may hold anything
}

func (e *FieldError) Unwrap() error { return e.Err }

// Detail returns the error with the offending source line shown when it is a TOML syntax
// error, and the plain message otherwise. Use it where a human reads the error (a terminal).
func (e *FieldError) Detail() (detail string) {
	var pe toml.ParseError
	if !errors.As(e.Err, &pe) {
		return e.Error()
	}
	// ErrorWithPosition indexes the input's lines with the error's: one out of range (as the
	// lexer reported at the end of the input, BurntSushi/toml#498) must not stop the caller.
	defer func() {
		if recover() != nil {
			detail = e.Error()
		}
	}()
	return fmt.Sprintf("%s:\n%s", e.File, printable(pe.ErrorWithPosition(), true))
}

// printable escapes the control characters of a library message (it quotes the end of the
// input as a NUL byte, and the input's own characters as they are), so that it reads as one
// line in a log, or as the lines of ErrorWithPosition in a terminal (lines).
func printable(s string, lines bool) string {
	var b strings.Builder
	for _, r := range s {
		if (r < 0x20 && !(lines && r == '\n')) || r == 0x7f {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FieldErrors lists the FieldErrors inside err (as joined by Load), in order.
func FieldErrors(err error) []*FieldError {
	if err == nil {
		return nil
	}
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				walk(inner)
			}
			return
		}
		if inner := errors.Unwrap(e); inner != nil {
			walk(inner)
		}
	}
	walk(err)
	return out
}

// problems collects FieldErrors for one file during validation.
type problems struct {
	file  string
	lines *lineIndex
	errs  []error
}

// add records a problem at key; the line is that of the key or of its nearest defined parent.
func (p *problems) add(key string, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{File: p.file, Key: key, Line: p.lines.line(key), Err: fmt.Errorf(format, args...)})
}

func (p *problems) err() error { return errors.Join(p.errs...) }
