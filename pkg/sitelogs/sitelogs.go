package sitelogs

import (
	"context"
	"errors"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// Engine is what reading containers' output needs: *docker.Client.
type Engine interface {
	Logs(ctx context.Context, id string, o docker.LogsOptions, fn func(docker.LogLine) error) error
}

// Line is one line of an instance's logs.
type Line struct {
	Time   time.Time `json:"time,omitzero"` // when the engine took it; zero for a file's line
	Role   string    `json:"role"`
	Stream string    `json:"stream"` // stdout, stderr, or the file's name
	Text   string    `json:"text"`
}

// Container is one container whose output is read, tagged with its role.
type Container struct{ Role, ID string }

// Containers calls fn with the last tail lines of each container (all with a negative tail),
// the containers' lines merged in time order, then, with follow, each new line of any of
// them as it comes.
func Containers(ctx context.Context, eng Engine, cs []Container, tail int, follow bool, fn func(Line) error) error {
	start := time.Now()
	var lines []Line
	last := make([]time.Time, len(cs))
	for i, c := range cs {
		err := eng.Logs(ctx, c.ID, docker.LogsOptions{Tail: tail}, func(l docker.LogLine) error {
			lines = append(lines, Line{Time: l.Time, Role: c.Role, Stream: l.Stream, Text: l.Text})
			last[i] = l.Time
			return nil
		})
		if err != nil {
			return err
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].Time.Before(lines[j].Time) })
	for _, l := range lines {
		if err := fn(l); err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}
	return fanIn(ctx, len(cs), func(ctx context.Context, i int, send func(Line) error) error {
		since := start
		if !last[i].IsZero() {
			since = last[i]
		}
		// The engine's since is inclusive: a line of the tail's last instant comes again.
		return eng.Logs(ctx, cs[i].ID, docker.LogsOptions{Tail: -1, Since: since, Follow: true}, func(l docker.LogLine) error {
			if !l.Time.IsZero() && !l.Time.After(last[i]) {
				return nil
			}
			return send(Line{Time: l.Time, Role: cs[i].Role, Stream: l.Stream, Text: l.Text})
		})
	}, fn)
}

// File is one open log file, tagged with its role and its name.
type File struct {
	Role, Name string
	F          *os.File
}

// Files calls fn with the last tail lines of each file, one file after the other, then,
// with follow, each line appended to any of them as it comes (instance.TailLog).
func Files(ctx context.Context, files []File, tail int, follow bool, fn func(Line) error) error {
	for _, f := range files {
		err := instance.TailLog(ctx, f.F, tail, false, func(text string) error {
			return fn(Line{Role: f.Role, Stream: f.Name, Text: text})
		})
		if err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}
	return fanIn(ctx, len(files), func(ctx context.Context, i int, send func(Line) error) error {
		f := files[i]
		return instance.TailLog(ctx, f.F, 0, true, func(text string) error { return send(Line{Role: f.Role, Stream: f.Name, Text: text}) })
	}, fn)
}

// errStop ends the sources once fn failed.
var errStop = errors.New("stopped")

// fanIn runs n sources side by side and hands their lines to fn from this goroutine, until
// ctx ends, every source has ended, or fn fails (its error is returned).
func fanIn(ctx context.Context, n int, run func(ctx context.Context, i int, send func(Line) error) error, fn func(Line) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lines := make(chan Line)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- run(ctx, i, func(l Line) error {
				select {
				case lines <- l:
					return nil
				case <-ctx.Done():
					return errStop
				}
			})
		}()
	}
	go func() { wg.Wait(); close(lines) }()
	var fnErr error
	for l := range lines {
		if fnErr == nil {
			if fnErr = fn(l); fnErr != nil {
				cancel()
			}
		}
	}
	close(errs)
	if fnErr != nil {
		return fnErr
	}
	for err := range errs {
		if err != nil && !errors.Is(err, errStop) && ctx.Err() == nil {
			return err
		}
	}
	return nil
}
