package reconciler

import (
	"slices"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/config"
)

func TestRewriteSettings(t *testing.T) {
	for _, tc := range []struct {
		db   config.Component
		want []string
	}{
		{config.Component{Flavor: config.FlavorMariaDB, Version: "11.8"}, []string{"innodb_buffer_pool_size", "innodb_log_file_size"}},
		{config.Component{Flavor: config.FlavorMariaDB, Version: "10.11"}, []string{"innodb_buffer_pool_size", "innodb_log_file_size"}},
		{config.Component{Flavor: config.FlavorMariaDB, Version: "10.9"}, []string{"innodb_buffer_pool_size", "innodb_log_file_size"}},
		// 10.5 resizes its buffer pool while it serves, not its redo log.
		{config.Component{Flavor: config.FlavorMariaDB, Version: "10.5"}, []string{"innodb_buffer_pool_size"}},
		{config.Component{Flavor: config.FlavorMariaDB, Version: "latest"}, []string{"innodb_buffer_pool_size"}},
		{config.Component{Flavor: config.FlavorMySQL, Version: "9.7"}, nil},
	} {
		if got := rewriteSettings(tc.db); !slices.Equal(got, tc.want) {
			t.Errorf("rewriteSettings(%s) = %v, want %v", tc.db, got, tc.want)
		}
	}
}
