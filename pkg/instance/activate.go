package instance

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// What WordPress is told of the instance's declaration once installed: its multisite
// network, its plugins activated and its first theme switched to, by the PHP image's
// wp-dind-activate (docker exec as www-data). It runs again when the declaration changes:
// .instance-info records the one last applied, so that an instance declaring nothing never
// runs it, and a plugin dropped from the list is deactivated.

// Activation is a declaration as wp-dind-activate applied it.
type Activation struct {
	Key     string   `json:"key"`               // ActivationOf's: what was declared
	Plugins []string `json:"plugins,omitempty"` // the plugins it activated, by folder name
}

// ActivationOf is what in declares to WordPress; a zero Activation declares nothing.
func ActivationOf(in *config.Instance) Activation {
	var a Activation
	var themes []string
	for _, c := range in.Code {
		switch c.Kind {
		case config.CodePlugin:
			a.Plugins = append(a.Plugins, c.Name())
		case config.CodeTheme:
			themes = append(themes, c.Name())
		}
	}
	if len(a.Plugins) == 0 && len(themes) == 0 && in.Multisite == config.MultisiteNone {
		return Activation{}
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "plugins %q\nthemes %q\nmultisite %q\n", a.Plugins, themes, in.Multisite))
	a.Key = hex.EncodeToString(sum[:8])
	return a
}

// ActivationPending reports whether WordPress has not been told the declaration yet.
func (p *Prepared) ActivationPending(in *config.Instance) bool {
	want := ActivationOf(in)
	got := Activation{}
	if p.Info.Activated != nil {
		got = *p.Info.Activated
	}
	return want.Key != got.Key
}

// ActivateCommand is wp-dind-activate's command line for in, deactivating the plugins the
// last activation made active that in no longer declares.
func (p *Prepared) ActivateCommand(in *config.Instance) []string {
	cmd := []string{"wp-dind-activate", "--url", in.URL()}
	if in.Multisite != config.MultisiteNone {
		cmd = append(cmd, "--multisite", string(in.Multisite))
	}
	want := ActivationOf(in)
	if p.Info.Activated != nil {
		for _, old := range p.Info.Activated.Plugins {
			if !slices.Contains(want.Plugins, old) {
				cmd = append(cmd, "--deactivate", old)
			}
		}
	}
	for _, c := range in.Code {
		switch c.Kind {
		case config.CodePlugin:
			cmd = append(cmd, "--plugin", c.Name())
		case config.CodeTheme:
			cmd = append(cmd, "--theme", c.Name())
		}
	}
	return cmd
}

// SetActivated records a applied in the instance's .instance-info.
func SetActivated(l Layout, a Activation) error {
	_, err := updateInfo(l, func(info *Info) {
		if a.Key == "" {
			info.Activated = nil
		} else {
			info.Activated = &a
		}
	})
	return err
}
