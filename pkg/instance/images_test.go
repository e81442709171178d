package instance

import (
	"reflect"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/config"
)

// Needed names each image once, with the prefix, whatever the number of instances using it.
func TestImagesNeeded(t *testing.T) {
	comp := func(f config.Flavor, v string) config.Component { return config.Component{Flavor: f, Version: v} }
	a := config.Instance{Name: "a", DB: comp("mariadb", "11.8"), PHP: comp("php", "8.4"), Web: comp("nginx", "1.26")}
	b := config.Instance{Name: "b", DB: comp("mariadb", "11.8"), PHP: comp("php", "7.4"), Web: comp("apache", "2.4")}
	for _, tc := range []struct {
		name string
		in   []config.Instance
		want []string
	}{
		{"none", nil, []string{}},
		{"one", []config.Instance{a}, []string{"wpt-mariadb:11.8", "wpt-nginx:1.26", "wpt-php:8.4"}},
		{"shared database image", []config.Instance{a, b},
			[]string{"wpt-apache:2.4", "wpt-mariadb:11.8", "wpt-nginx:1.26", "wpt-php:7.4", "wpt-php:8.4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Images{Prefix: "wpt-"}.Needed(&config.InstancesConfig{Instances: tc.in})
			if got == nil {
				got = []string{}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
