package config

import (
	"fmt"
	"strings"
)

// A [[matrix]] table of instances.toml is one instance per combination of its lists: php,
// db, db_version and web, each optional; every other key is the common part, as an
// [[instance]] would write it. Its instances are ordinary ones named for their versions
// (MatrixInstanceName), so their ids, ports and folders are held like any other's: removing
// a value removes its combinations only, and editing the common part changes each of them
// as an instance edit would.

// MatrixEntry is one [[matrix]] table. Its lists shadow the common part's keys of the same
// name (the shallower field wins in the decoder, as in encoding/json).
type MatrixEntry struct {
	Name      Name     `toml:"name"`
	PHP       []string `toml:"php"`
	DB        []string `toml:"db"`
	DBVersion []string `toml:"db_version"`
	Web       []string `toml:"web"`
	InstanceSettings
}

// matrixRef is a matrix of the loaded file, for InstancesConfig.Check.
type matrixRef struct{ name, key string }

// Combinations is the matrix's instances before defaults: the common part with one value of
// each list, php varying slowest and web fastest, in the lists' order. A list left out
// leaves its key to the common part's defaults. Pure: the names come once the versions are
// resolved (MatrixInstanceName).
func (m *MatrixEntry) Combinations() []InstanceSettings {
	out := []InstanceSettings{m.InstanceSettings}
	axes := []struct {
		vals []string
		set  func(*InstanceSettings, string)
	}{
		{m.PHP, func(s *InstanceSettings, v string) { s.PHP = v }},
		{m.DB, func(s *InstanceSettings, v string) { s.DB = v }},
		{m.DBVersion, func(s *InstanceSettings, v string) { s.DBVersion = v }},
		{m.Web, func(s *InstanceSettings, v string) { s.Web = v }},
	}
	for _, ax := range axes {
		if ax.vals == nil {
			continue
		}
		var next []InstanceSettings
		for _, base := range out {
			for _, v := range ax.vals {
				s := base
				ax.set(&s, v)
				next = append(next, s)
			}
		}
		out = next
	}
	return out
}

// MatrixInstanceName is the name of a matrix's instance: the matrix's name, then its PHP,
// database and web server, digits only for versions ("compat-php82-mariadb1011-nginx").
// Every part is there whichever lists the matrix has, so adding a list keeps the names of
// the combinations that were there.
func MatrixInstanceName(matrix string, php, db, web Component) string {
	digits := func(v string) string { return strings.ReplaceAll(v, ".", "") }
	return fmt.Sprintf("%s-php%s-%s%s-%s", matrix, digits(php.Version), db.Flavor, digits(db.Version), web.Flavor)
}

// matrix expands the matrix at index i into instances and their entries, validated as
// instances are, their problems reported at the matrix's keys.
func (v *validator) matrix(i int, m *MatrixEntry, d *InstanceSettings) ([]Instance, []InstanceEntry) {
	key := fmt.Sprintf("matrix[%d]", i)
	if m.Name == "" {
		v.add(key+".name", "missing: every matrix needs a name")
		return nil, nil
	}
	if !v.matrixLists(key, m) {
		return nil, nil
	}
	var ins []Instance
	var entries []InstanceEntry
	for _, s := range m.Combinations() {
		e := InstanceEntry{Name: m.Name, InstanceSettings: s, key: key} // named once its versions are known
		in := v.instance(key, &e, d)
		in.Name = MatrixInstanceName(string(m.Name), in.PHP, in.DB, in.Web)
		in.Title = fmt.Sprintf("%s (%s, %s, %s)", m.Name, in.PHP, in.DB, in.Web)
		in.Matrix = string(m.Name)
		if err := ValidName(in.Name); err != nil {
			v.addOnce(key+".name", "%q is too long for its instance %s (at most 63 characters): shorten it", m.Name, in.Name)
		}
		e.Name = Name(in.Name)
		ins, entries = append(ins, in), append(entries, e)
	}
	return ins, entries
}

// matrixLists checks that the matrix has a list, and no list is empty or repeats a value.
func (v *validator) matrixLists(key string, m *MatrixEntry) bool {
	ok, any := true, false
	for _, l := range []struct {
		field string
		vals  []string
	}{{"php", m.PHP}, {"db", m.DB}, {"db_version", m.DBVersion}, {"web", m.Web}} {
		if l.vals == nil {
			continue
		}
		any = true
		if len(l.vals) == 0 {
			v.add(key+"."+l.field, "empty list: give at least one value, or leave the key out")
			ok = false
		}
		seen := map[string]bool{}
		for _, val := range l.vals {
			if seen[val] {
				v.add(key+"."+l.field, "%q is listed twice", val)
				ok = false
			}
			seen[val] = true
		}
	}
	if !any {
		v.add(key, "a matrix needs at least one list: php, db, db_version or web")
	}
	return ok && any
}

// matrixNames refuses two matrices of one name, and a matrix named like an instance:
// `ctl status NAME` names either.
func (v *validator) matrixNames(ms []MatrixEntry, instances []InstanceEntry) []matrixRef {
	var refs []matrixRef
	seen := map[Name]bool{}
	for _, e := range instances {
		seen[e.Name] = true
	}
	for i, m := range ms {
		key := fmt.Sprintf("matrix[%d].name", i)
		if m.Name == "" {
			continue
		}
		if seen[m.Name] {
			v.add(key, "duplicate name %q: another matrix or an instance has it", m.Name)
		}
		seen[m.Name] = true
		refs = append(refs, matrixRef{name: string(m.Name), key: fmt.Sprintf("matrix[%d]", i)})
	}
	return refs
}
