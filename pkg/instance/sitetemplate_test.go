package instance

import (
	"testing"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// TestTemplateEligibility: a network neither starts from a single site's template nor
// makes one; a site with the developer's plugins or theme starts from one (and is
// activated after) but its install, holding them, makes none; a mount alone changes
// nothing WordPress keeps.
func TestTemplateEligibility(t *testing.T) {
	plugin := config.Code{Kind: config.CodePlugin, Source: "p", Target: "wp-content/plugins/p"}
	theme := config.Code{Kind: config.CodeTheme, Source: "t", Target: "wp-content/themes/t"}
	mount := config.Code{Kind: config.CodeMount, Source: "tools", Target: "wp-content/mu-plugins/tools"}
	for _, c := range []struct {
		name        string
		in          config.Instance
		user, maker bool
	}{
		{"plain", config.Instance{}, true, true},
		{"mount", config.Instance{Code: []config.Code{mount}}, true, true},
		{"plugin", config.Instance{Code: []config.Code{plugin}}, true, false},
		{"theme", config.Instance{Code: []config.Code{theme}}, true, false},
		{"subdirectory", config.Instance{Multisite: config.MultisiteSubdirectory}, false, false},
		{"subdomain with a plugin", config.Instance{Multisite: config.MultisiteSubdomain, Code: []config.Code{plugin}}, false, false},
		{"mysql", config.Instance{DB: config.Component{Flavor: config.FlavorMySQL, Version: "9.7"}}, false, false},
		{"mariadb", config.Instance{DB: config.Component{Flavor: config.FlavorMariaDB, Version: "11.8"}}, true, true},
	} {
		if got := TemplateUser(&c.in); got != c.user {
			t.Errorf("%s: TemplateUser %v, want %v", c.name, got, c.user)
		}
		if got := TemplateMaker(&c.in); got != c.maker {
			t.Errorf("%s: TemplateMaker %v, want %v", c.name, got, c.maker)
		}
	}
}
