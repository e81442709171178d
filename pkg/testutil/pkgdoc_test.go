package testutil

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackagesHaveDoc: every package under pkg/ has a doc.go whose package comment starts
// "Package NAME" (the house style: the role and the invariant in one place), and no other
// file of it carries a package comment, which go doc would join to it.
func TestPackagesHaveDoc(t *testing.T) {
	dirs, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join("..", d.Name())
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		var sources []string
		for _, f := range files {
			if !strings.HasSuffix(f, "_test.go") {
				sources = append(sources, f)
			}
		}
		if len(sources) == 0 {
			continue
		}
		checked++
		checkPackageDoc(t, "pkg/"+d.Name(), sources)
	}
	if checked < 10 {
		t.Errorf("only %d packages found under pkg/", checked)
	}
}

// checkPackageDoc checks the package comments of one package's source files.
func checkPackageDoc(t *testing.T, pkg string, sources []string) {
	t.Helper()
	hasDoc := false // a doc.go, with or without its comment
	for _, path := range sources {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Errorf("%s: %v", pkg, err)
			return
		}
		base := filepath.Base(path)
		switch {
		case base == "doc.go" && f.Doc == nil:
			hasDoc = true
			t.Errorf("%s/doc.go has no package comment", pkg)
		case base == "doc.go":
			hasDoc = true
			if want := "Package " + f.Name.Name + " "; !strings.HasPrefix(f.Doc.Text(), want) {
				t.Errorf("%s/doc.go: the package comment does not start with %q", pkg, want)
			}
		case f.Doc != nil:
			t.Errorf("%s/%s has a package comment: it belongs in doc.go", pkg, base)
		}
	}
	if !hasDoc {
		t.Errorf("%s has no doc.go", pkg)
	}
}
