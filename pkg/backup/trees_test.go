package backup

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCreateWithTrees: a mounted plugin's folder goes in at its mount point, in place of the
// empty folder Docker made there, and stages like the rest of the document root.
func TestCreateWithTrees(t *testing.T) {
	l := prepared(t)
	mountPoint := filepath.Join(l.WordPressDir(), "wp-content", "plugins", "my-plugin")
	if err := os.MkdirAll(mountPoint, 0o755); err != nil {
		t.Fatal(err)
	}
	plugin := t.TempDir()
	write(t, filepath.Join(plugin, "my-plugin.php"), "<?php // Plugin Name: mine\n")
	write(t, filepath.Join(plugin, "inc", "a.php"), "<?php\n")
	tree := Tree{Source: plugin, Name: "data/wordpress/wp-content/plugins/my-plugin"}
	res, err := Create(context.Background(), l, Dir(l.Root), time.Unix(1e9, 0), dumper(dumpText), tree)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Stage(context.Background(), res.Path, "blog", l.Root, DefaultLimits)
	if err != nil {
		t.Fatalf("stage an archive with a tree: %v", err)
	}
	defer s.Cleanup()
	for rel, want := range map[string]string{
		"data/wordpress/wp-content/plugins/my-plugin/my-plugin.php": "<?php // Plugin Name: mine\n",
		"data/wordpress/wp-content/plugins/my-plugin/inc/a.php":     "<?php\n",
		"data/wordpress/wp-content/uploads/a.txt":                   "upload\n",
	} {
		if got := mustRead(t, filepath.Join(s.Dir, rel)); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
	// Without the tree, the mount point is all the archive holds of the plugin.
	res, err = Create(context.Background(), l, Dir(l.Root), time.Unix(2e9, 0), dumper(dumpText))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Stage(context.Background(), res.Path, "blog", l.Root, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Cleanup()
	if entries, err := os.ReadDir(filepath.Join(s2.Dir, "data/wordpress/wp-content/plugins/my-plugin")); err != nil || len(entries) != 0 {
		t.Errorf("mount point without backup_mounts: %v %v", entries, err)
	}
}
