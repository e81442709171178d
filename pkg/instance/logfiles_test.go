package instance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

func TestLogFilesListAndOpen(t *testing.T) {
	root := t.TempDir()
	in := testInstance(t, "")
	p := mustPrepare(t, root, in)
	comps := map[Role]config.Component{RoleDB: in.DB, RolePHP: in.PHP, RoleWeb: in.Web}
	phpLogs := p.Layout.LogDir(in.PHP)
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(phpLogs, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("error.log", "one\ntwo\nthree\n")
	secret := filepath.Join(root, "blog", ".env")
	if err := os.Symlink(secret, filepath.Join(phpLogs, "xdebug.log")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(phpLogs, "fifo.log"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := LogFiles(p.Layout, comps)
	if err != nil || len(files) != 1 || files[0].Path != "logs/php-8.4/error.log" || files[0].Role != RolePHP || files[0].Size != 14 {
		t.Fatalf("files = %+v, %v", files, err)
	}
	for name, want := range map[string]string{"xdebug.log": "a link is never followed", "fifo.log": "not a regular file",
		"../.env": "give a file name", "none.log": ErrNoLogFile.Error()} {
		if _, err := OpenLogFile(p.Layout, in.PHP, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("open %s: %v, want %q", name, err, want)
		}
	}
	// A link in place of the component's folder is not followed either.
	webLogs := p.Layout.LogDir(in.Web)
	if err := os.RemoveAll(webLogs); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(phpLogs, webLogs); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLogFile(p.Layout, in.Web, "error.log"); err == nil {
		t.Error("opened error.log through a linked log folder")
	}
	f, err := OpenLogFile(p.Layout, in.PHP, "error.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	if err := TailLog(context.Background(), f, 2, false, func(l string) error { got = append(got, l); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "two,three" {
		t.Errorf("tail 2 = %v", got)
	}
}

// TestTailLogFollows: lines appended after the tail come, a half line once it ends, a long
// one cut; a file cut short starts over.
func TestTailLogFollows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mu sync.Mutex
	var got []string
	lines := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- TailLog(ctx, f, 5, true, func(l string) error { mu.Lock(); got = append(got, l); mu.Unlock(); return nil })
	}()
	appendTo := func(s string) {
		w, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.WriteString(s)
		w.Close()
	}
	testutil.WaitFor(t, 5*time.Second, "the tail", func() bool { return len(lines()) == 1 })
	appendTo("new 1\nhalf")
	testutil.WaitFor(t, 5*time.Second, "new 1", func() bool { return len(lines()) == 2 })
	appendTo(" done\n" + strings.Repeat("x", MaxLogLine+100) + "\n")
	testutil.WaitFor(t, 5*time.Second, "the half line and the long one", func() bool { return len(lines()) == 4 })
	if err := os.WriteFile(path, []byte("after truncation\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "the line after truncation", func() bool { return len(lines()) == 5 })
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	l := lines()
	if l[0] != "old" || l[1] != "new 1" || l[2] != "half done" || len(l[3]) > MaxLogLine || l[4] != "after truncation" {
		t.Errorf("lines = %q %q %q (%d bytes) %q", l[0], l[1], l[2], len(l[3]), l[4])
	}
}
