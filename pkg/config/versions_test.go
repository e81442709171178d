package config_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// The version table has one source, config.VersionTable; the copies that must exist are held
// against it here: images/versions.txt (what `make images` builds) and the table in
// docs/instances.md (what a user reads).

var repoRoot = filepath.Join("..", "..")

// TestVersionTableVersionsTxt: images/versions.txt lists exactly the offline versions.
func TestVersionTableVersionsTxt(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot, "images", "versions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 3 {
			t.Fatalf("versions.txt: %q is not FAMILY VERSION SUITE", sc.Text())
		}
		got = append(got, fields[0]+" "+fields[1])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, row := range config.VersionTable() {
		for _, v := range row.Offline {
			want = append(want, string(row.Flavor)+" "+v)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("images/versions.txt builds %v, the version table's offline versions are %v", got, want)
	}
}

var docKeyRE = regexp.MustCompile("^`(?:php|(?:db|web) = \"([a-z]+)\")`$")

// TestVersionTable: docs/instances.md's table has one row per flavor with its versions,
// default, image name and offline versions as the code has them.
func TestVersionTable(t *testing.T) {
	rows := docVersionRows(t)
	table := config.VersionTable()
	def := config.DefaultInstances()
	images := instance.NewImages(&def)
	if len(rows) != len(table) {
		t.Fatalf("docs/instances.md's version table has %d rows, the code %d", len(rows), len(table))
	}
	for _, want := range table {
		row, ok := rows[want.Flavor]
		if !ok {
			t.Errorf("docs/instances.md: no row for %s", want.Flavor)
			continue
		}
		image := strings.ReplaceAll(strings.Trim(row[3], "`"), "X.Y", want.Default)
		checks := []struct{ what, got, want string }{
			{"versions", row[1], strings.Join(want.Versions, ", ")},
			{"default", row[2], want.Default},
			{"image", image, images.Ref(config.Component{Flavor: want.Flavor, Version: want.Default})},
			{"offline", offlineOf(row[4], want.Versions), strings.Join(want.Offline, ", ")},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("docs/instances.md, %s: %s %q, the code has %q", want.Flavor, c.what, c.got, c.want)
			}
		}
	}
}

// docVersionRows reads the table under the header "| key | versions | default | ...",
// keyed by flavor, cells trimmed.
func docVersionRows(t *testing.T) map[config.Flavor][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", "instances.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "| key | versions | default |") })
	if start < 0 {
		t.Fatal("docs/instances.md: no version table (| key | versions | default | image | offline |)")
	}
	rows := map[config.Flavor][]string{}
	for _, l := range lines[start+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		m := docKeyRE.FindStringSubmatch(cells[0])
		if len(cells) != 5 || m == nil {
			t.Fatalf("docs/instances.md: version table row %q", l)
		}
		f := config.Flavor(m[1])
		if f == "" {
			f = config.FlavorPHP
		}
		rows[f] = cells
	}
	return rows
}

// offlineOf reads the offline cell: "all", "none" or a list.
func offlineOf(cell string, versions []string) string {
	switch cell {
	case "all":
		return strings.Join(versions, ", ")
	case "none":
		return ""
	}
	return cell
}
