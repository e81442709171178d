// Package images_test checks that the wp-dind instance images honour the contract of
// docs/images.md, against a real Docker engine: tags and labels, PHP-FPM answering FastCGI,
// MariaDB initialising from an empty data directory, nginx and Apache serving PHP through a
// PHP container, WordPress installing end to end. Every container, network and volume it
// creates carries the label org.wp-dind.test=<test name>@<run>, has a name of its own (or one
// Docker makes up) and is removed in t.Cleanup; every published port is one Docker picks on
// 127.0.0.1. Tests talk to services only on 127.0.0.1 published ports or through docker exec.
//
// The images come from images/versions.txt (the ones `make images` builds) or, when set, from
// WP_DIND_IMAGES: a space- or comma-separated list such as "wp-php:8.3 wp-mysql:8.0", for
// images built elsewhere (the upstream flavour). Each image's role is read from its labels.
package images_test

import (
	"bufio"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// image is one image under test, described by its labels.
type image struct {
	Ref     string // as named: wp-php:8.4
	Repo    string // wp-php
	Tag     string // 8.4
	ID      string
	Role    string // php, db, web
	Flavor  string // php, mariadb, mysql, nginx, apache
	Version string // exact: 8.4.16
}

// imageRefs lists the images under test: WP_DIND_IMAGES, or images/versions.txt's with the
// prefix WP_DIND_IMAGE_PREFIX (testutil.ImagePrefix).
func imageRefs(t *testing.T) []string {
	t.Helper()
	if env := os.Getenv("WP_DIND_IMAGES"); env != "" {
		return strings.FieldsFunc(env, func(r rune) bool { return r == ' ' || r == ',' || r == '\n' })
	}
	f, err := os.Open("versions.txt")
	if err != nil {
		t.Fatalf("open image list: %v", err)
	}
	defer f.Close()
	var refs []string
	scan := bufio.NewScanner(f)
	for scan.Scan() {
		fields := strings.Fields(scan.Text())
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		refs = append(refs, testutil.ImagePrefix()+fields[0]+":"+fields[1])
	}
	if err := scan.Err(); err != nil {
		t.Fatalf("read image list: %v", err)
	}
	return refs
}

// images inspects every image under test; a missing image fails the test (run make images).
func images(t *testing.T) []image {
	t.Helper()
	var out []image
	for _, ref := range imageRefs(t) {
		format := `{{.Id}}|{{index .Config.Labels "org.wp-dind.role"}}|` +
			`{{index .Config.Labels "org.wp-dind.flavor"}}|{{index .Config.Labels "org.wp-dind.version"}}`
		line, err := docker("image", "inspect", "-f", format, ref)
		if err != nil {
			t.Fatalf("image %s (run make images): %v", ref, err)
		}
		f := strings.Split(line, "|")
		repo, tag, _ := strings.Cut(ref, ":")
		out = append(out, image{Ref: ref, Repo: repo, Tag: tag, ID: f[0], Role: f[1], Flavor: f[2], Version: f[3]})
	}
	return out
}

// byRole keeps the images of one role.
func byRole(all []image, role string) []image {
	var out []image
	for _, im := range all {
		if im.Role == role {
			out = append(out, im)
		}
	}
	return out
}

// versionLess orders dotted versions numerically: 8.4 < 8.10.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

// TestTagsAndLabels: every image has role, flavor and exact-version labels; the exact tag,
// major.minor, major and latest tags exist, major and latest naming the newest version.
func TestTagsAndLabels(t *testing.T) {
	all := images(t)
	families := map[string][]image{}
	for _, im := range all {
		if im.Role == "" || im.Flavor == "" || im.Version == "" {
			t.Errorf("%s: labels role=%q flavor=%q version=%q", im.Ref, im.Role, im.Flavor, im.Version)
			continue
		}
		if !strings.HasPrefix(im.Version, im.Tag+".") {
			t.Errorf("%s holds version %s", im.Ref, im.Version)
		}
		if id, err := docker("image", "inspect", "-f", "{{.Id}}", im.Repo+":"+im.Version); err != nil || id != im.ID {
			t.Errorf("%s:%s is not %s (%v)", im.Repo, im.Version, im.Ref, err)
		}
		families[im.Repo] = append(families[im.Repo], im)
	}
	for repo, list := range families {
		sort.Slice(list, func(i, j int) bool { return versionLess(list[i].Version, list[j].Version) })
		newestOfMajor := map[string]image{}
		for _, im := range list {
			newestOfMajor[strings.Split(im.Version, ".")[0]] = im
		}
		want := map[string]image{"latest": list[len(list)-1]}
		for major, im := range newestOfMajor {
			want[major] = im
		}
		for tag, im := range want {
			id, err := docker("image", "inspect", "-f", "{{.Id}}", repo+":"+tag)
			if err != nil || id != im.ID {
				t.Errorf("%s:%s should be %s (%s): got %s %v", repo, tag, im.Ref, im.Version, shortID(id), err)
			}
		}
	}
	t.Logf("%d images, %d families", len(all), len(families))
}
