package config

import (
	"regexp"
	"strconv"
	"strings"
)

// lineIndex maps dotted TOML keys to the line that defines them. BurntSushi/toml reports the
// line of syntax errors and of values rejected by UnmarshalText, but not of keys, so the
// errors found after decoding (unknown keys, duplicates, cycles) are located with this index.
//
// Keys inside arrays of tables carry their element index: "instance[1].php". Lookups fall back
// to the nearest defined parent, so a key set in an inline table reports the table's line.
type lineIndex struct {
	byPath map[string]int      // indexed path -> line
	plain  map[string][]string // unindexed path -> indexed paths, in file order
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)

func indexLines(data []byte) *lineIndex {
	idx := &lineIndex{byPath: map[string]int{}, plain: map[string][]string{}}
	counts := map[string]int{} // unindexed array-of-tables path -> elements seen
	prefix := ""
	var value valueScan // the value being read, when it spans lines
	n := 0
	defer func() {
		if r := recover(); r != nil {
			panic(linePanic{line: n, value: r})
		}
	}()
	for i, raw := range strings.Split(string(data), "\n") {
		n = i + 1
		line := strings.TrimSpace(raw)
		if value.open() {
			value.scan(line) // a line inside a multi-line array, table or string
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			array := strings.HasPrefix(line, "[[")
			name, ok := headerName(line, array)
			if !ok {
				continue
			}
			prefix = idx.resolve(name, counts, array)
			idx.record(prefix, n)
			continue
		}
		eq := unquotedIndex(line, '=')
		if eq <= 0 {
			continue
		}
		parts, ok := splitKey(strings.TrimSpace(line[:eq]))
		if !ok {
			continue
		}
		path := joinKey(prefix, strings.Join(parts, "."))
		idx.record(path, n)
		value = valueScan{}
		value.scan(line[eq+1:])
	}
	return idx
}

// linePanic carries a panic of the index with the line it was reading, for guarded.
type linePanic struct {
	line  int
	value any
}

// resolve turns a header name into an indexed path, opening a new element for [[name]].
func (idx *lineIndex) resolve(name []string, counts map[string]int, array bool) string {
	indexed, plain := "", ""
	for i, part := range name {
		plain = joinKey(plain, part)
		indexed = joinKey(indexed, part)
		last := i == len(name)-1
		if last && array {
			counts[plain]++
		}
		if c, ok := counts[plain]; ok && c > 0 {
			indexed += "[" + strconv.Itoa(c-1) + "]"
		}
	}
	return indexed
}

func (idx *lineIndex) record(path string, line int) {
	if _, seen := idx.byPath[path]; !seen {
		idx.byPath[path] = line
	}
	p := stripIndexes(path)
	idx.plain[p] = append(idx.plain[p], path)
}

// line returns the line of key or of its nearest recorded parent, 0 if none.
func (idx *lineIndex) line(key string) int {
	if idx == nil {
		return 0
	}
	for key != "" {
		if n, ok := idx.byPath[key]; ok {
			return n
		}
		cut := strings.LastIndexAny(key, ".[")
		if cut < 0 {
			return 0
		}
		key = key[:cut]
	}
	return 0
}

// occurrence returns the indexed path of the k-th (0-based) definition of an unindexed key,
// or the key itself when it is not recorded that often.
func (idx *lineIndex) occurrence(plain string, k int) string {
	if paths := idx.plain[plain]; k < len(paths) {
		return paths[k]
	}
	return plain
}

var indexSuffix = regexp.MustCompile(`\[[0-9]+\]`)

func stripIndexes(path string) string { return indexSuffix.ReplaceAllString(path, "") }

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// headerName reads the name of a [table] or [[array]] header; false when line is none.
func headerName(line string, array bool) ([]string, bool) {
	open, close := "[", "]"
	if array {
		open, close = "[[", "]]"
	}
	end := unquotedIndex(line, ']')
	if end < len(open) {
		return nil, false // "[[]": the first ']' is inside the opening brackets
	}
	if array {
		rel := strings.Index(line[end:], close)
		if rel < 0 {
			return nil, false // "[[]," or "[[a]": a line of a nested array, or no header
		}
		end += rel
	}
	return splitKey(strings.TrimSpace(line[len(open):end]))
}

// splitKey splits a TOML key (bare, quoted or dotted) into its parts.
func splitKey(s string) ([]string, bool) {
	var parts []string
	for s != "" {
		s = strings.TrimSpace(s)
		var part string
		switch s[0] {
		case '"', '\'':
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return nil, false
			}
			part, s = s[1:end+1], s[end+2:]
		default:
			dot := strings.IndexByte(s, '.')
			if dot < 0 {
				dot = len(s)
			}
			part, s = strings.TrimSpace(s[:dot]), s[dot:]
			if !bareKey.MatchString(part) {
				return nil, false
			}
		}
		parts = append(parts, part)
		s = strings.TrimSpace(s)
		if s != "" {
			if s[0] != '.' {
				return nil, false
			}
			s = s[1:]
		}
	}
	return parts, len(parts) > 0
}

// unquotedIndex returns the index of the first c outside a quoted string, or -1.
func unquotedIndex(s string, c byte) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		switch {
		case quote != 0:
			if s[i] == '\\' && quote == '"' {
				i++
			} else if s[i] == quote {
				quote = 0
			}
		case s[i] == '"' || s[i] == '\'':
			quote = s[i]
		case s[i] == c:
			return i
		}
	}
	return -1
}

// valueScan follows a value across lines: the arrays and inline tables it opened and not yet
// closed, and the multi-line string it is inside. Lines inside a value are neither keys nor
// headers, even when they start with '[' (a nested array).
type valueScan struct {
	depth int    // open '[' and '{'
	ml    string // delimiter of the open multi-line string, "" when none
}

func (v *valueScan) open() bool { return v.depth > 0 || v.ml != "" }

// scan reads one line (or the part of it after '=') of the value.
func (v *valueScan) scan(s string) {
	for i := 0; i < len(s); i++ {
		if v.ml != "" {
			end := closingIndex(s[i:], v.ml)
			if end < 0 {
				return
			}
			i += end + len(v.ml) - 1
			v.ml = ""
			continue
		}
		switch c := s[i]; c {
		case '#':
			return
		case '[', '{':
			v.depth++
		case ']', '}':
			v.depth--
		case '"', '\'':
			if d := strings.Repeat(string(c), 3); strings.HasPrefix(s[i:], d) {
				v.ml = d
				i += 2
				continue
			}
			end := closingIndex(s[i+1:], string(c))
			if end < 0 {
				return // a string left open on its line is a syntax error: the decoder reports it
			}
			i += end + 1
		}
	}
}

// closingIndex returns where delim first occurs in s, skipping backslash escapes when delim
// closes a basic string ("..." or """..."""), or -1.
func closingIndex(s, delim string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && delim[0] == '"' {
			i++
			continue
		}
		if strings.HasPrefix(s[i:], delim) {
			return i
		}
	}
	return -1
}
