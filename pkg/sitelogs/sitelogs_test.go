package sitelogs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/testutil"
)

// fakeEngine holds each container's lines; a follow gives those since, then what more
// arrives on the container's channel until ctx ends.
type fakeEngine struct {
	lines map[string][]docker.LogLine
	more  map[string]chan docker.LogLine
	mu    sync.Mutex
	since map[string]time.Time
}

func (e *fakeEngine) Logs(ctx context.Context, id string, o docker.LogsOptions, fn func(docker.LogLine) error) error {
	ls := e.lines[id]
	if !o.Follow && o.Tail >= 0 && len(ls) > o.Tail {
		ls = ls[len(ls)-o.Tail:]
	}
	if o.Follow {
		e.mu.Lock()
		e.since[id] = o.Since
		e.mu.Unlock()
		var kept []docker.LogLine
		for _, l := range ls {
			if !l.Time.Before(o.Since) {
				kept = append(kept, l)
			}
		}
		ls = kept
	}
	for _, l := range ls {
		if err := fn(l); err != nil {
			return err
		}
	}
	if !o.Follow {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case l := <-e.more[id]:
			if err := fn(l); err != nil {
				return err
			}
		}
	}
}

func at(s int) time.Time { return time.Date(2026, 12, 1, 9, 0, s, 0, time.UTC) }

func TestContainersTailInOrderThenFollow(t *testing.T) {
	eng := &fakeEngine{
		lines: map[string][]docker.LogLine{
			"d": {{Stream: "stderr", Text: "db 1", Time: at(1)}, {Stream: "stderr", Text: "db 4", Time: at(4)}},
			"w": {{Stream: "stdout", Text: "web 0", Time: at(0)}, {Stream: "stdout", Text: "web 2", Time: at(2)}, {Stream: "stdout", Text: "web 3", Time: at(3)}},
		},
		more:  map[string]chan docker.LogLine{"d": make(chan docker.LogLine), "w": make(chan docker.LogLine)},
		since: map[string]time.Time{},
	}
	var mu sync.Mutex
	var got []string
	seen := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Containers(ctx, eng, []Container{{"db", "d"}, {"web", "w"}}, 2, true, func(l Line) error {
			mu.Lock()
			got = append(got, l.Role+":"+l.Text)
			mu.Unlock()
			return nil
		})
	}()
	testutil.WaitFor(t, 5*time.Second, "the tails", func() bool { return len(seen()) == 4 })
	if s := strings.Join(seen(), ","); s != "db:db 1,web:web 2,web:web 3,db:db 4" {
		t.Errorf("tails = %s, want the last 2 of each in time order", s)
	}
	eng.more["w"] <- docker.LogLine{Stream: "stdout", Text: "web 5", Time: at(5)}
	testutil.WaitFor(t, 5*time.Second, "the followed line", func() bool { return len(seen()) == 5 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The follows start at each tail's last line, which the engine gives again: not twice.
	if s := seen(); s[4] != "web:web 5" || eng.since["w"] != at(3) || eng.since["d"] != at(4) {
		t.Errorf("followed %v, since %v", s, eng.since)
	}
}

func TestFilesTailThenFollow(t *testing.T) {
	dir := t.TempDir()
	var files []File
	for _, role := range []string{"php", "web"} {
		p := filepath.Join(dir, role+".log")
		if err := os.WriteFile(p, []byte(role+" a\n"+role+" b\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, File{Role: role, Name: "error.log", F: f})
	}
	var got []string
	err := Files(context.Background(), files, 1, false, func(l Line) error { got = append(got, l.Role+":"+l.Text); return nil })
	if err != nil || strings.Join(got, ",") != "php:php b,web:web b" {
		t.Errorf("tail 1 = %v, %v", got, err)
	}
}
