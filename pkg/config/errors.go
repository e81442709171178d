package config

import (
	"errors"
	"fmt"

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
		msg = pe.Message // the position is already in loc
	}
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", loc, msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Key, msg)
}

func (e *FieldError) Unwrap() error { return e.Err }

// Detail returns the error with the offending source line shown when it is a TOML syntax
// error, and the plain message otherwise. Use it where a human reads the error (a terminal).
func (e *FieldError) Detail() string {
	var pe toml.ParseError
	if errors.As(e.Err, &pe) {
		return fmt.Sprintf("%s:\n%s", e.File, pe.ErrorWithPosition())
	}
	return e.Error()
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
