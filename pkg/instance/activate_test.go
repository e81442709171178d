package instance

import (
	"slices"
	"strings"
	"testing"
)

// TestActivation: an instance declaring nothing never runs wp-dind-activate; a declaration
// runs it until recorded, and again when it changes, deactivating a dropped plugin.
func TestActivation(t *testing.T) {
	root := t.TempDir()
	plain := testInstance(t, "")
	p := mustPrepare(t, root, plain)
	if p.ActivationPending(plain) || ActivationOf(plain).Key != "" {
		t.Fatal("an instance without plugins, themes or multisite has something to activate")
	}

	in, _ := codeInstance(t)
	p = mustPrepare(t, root, in)
	if !p.ActivationPending(in) {
		t.Fatal("plugins declared, nothing pending")
	}
	want := []string{"wp-dind-activate", "--url", "http://localhost:8007", "--plugin", "my-plugin", "--theme", "my-theme"}
	if got := p.ActivateCommand(in); !slices.Equal(got, want) {
		t.Errorf("command = %v, want %v", got, want)
	}
	if err := SetActivated(p.Layout, ActivationOf(in)); err != nil {
		t.Fatal(err)
	}
	if p = mustPrepare(t, root, in); p.ActivationPending(in) {
		t.Error("still pending once recorded")
	}

	net := testInstance(t, "multisite = \"subdirectory\"\n")
	p = mustPrepare(t, root, net)
	if !p.ActivationPending(net) {
		t.Fatal("a new multisite declaration is not pending")
	}
	got := strings.Join(p.ActivateCommand(net), " ")
	if got != "wp-dind-activate --url http://localhost:8007 --multisite subdirectory --deactivate my-plugin" {
		t.Errorf("command = %s", got)
	}
}
