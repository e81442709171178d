package ctl

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// What `wpinit ctl wait` reads from a status: how far the boot is (Progress) and whether
// the sites serve, still wait, or failed in a way waiting does not fix (Waiting).

// Progress is one subject of a boot (a service, a tarball, an instance) and its state in
// words. A waiter prints a subject again only when its text changes.
type Progress struct {
	Subject string
	Text    string
}

func (p Progress) String() string { return p.Subject + ": " + p.Text }

// progressStep is the granularity of a loading tarball's percent, so that a load prints a
// handful of lines rather than one per poll.
const progressStep = 20

// Progress lists every service, tarball and instance with its state, in that order.
func (s *Status) Progress() []Progress {
	var out []Progress
	for _, svc := range s.Services {
		text := svc.State
		if svc.Ready {
			text += ", ready"
		}
		if svc.Error != "" && !svc.Ready {
			text += " (" + svc.Error + ")"
		}
		out = append(out, Progress{"service " + svc.Name, text})
	}
	if im := s.Images; im != nil {
		out = append(out, im.progress()...)
	}
	if in := s.Instances; in != nil {
		for _, i := range in.Instances {
			out = append(out, Progress{"site " + i.Name, i.progress()})
		}
	}
	return out
}

func (im *ImagesStatus) progress() []Progress {
	var out []Progress
	for _, t := range im.Tarballs {
		var text string
		switch t.State {
		case TarballLoading:
			text = fmt.Sprintf("loading %d%%", t.Percent()/progressStep*progressStep)
		case TarballLoaded:
			text = "loaded in " + t.Duration.Round(100*time.Millisecond).String()
		case TarballSkipped:
			text = "skipped, its images are loaded"
		case TarballFailed:
			text = "failed: " + t.Error
		default:
			continue // pending or checking: nothing to see yet
		}
		out = append(out, Progress{"image " + t.Name, text})
	}
	if im.Done {
		c := im.Counts()
		out = append(out, Progress{"images", fmt.Sprintf("done in %s: %d loaded, %d skipped, %d failed",
			im.Duration.Round(100*time.Millisecond), c[TarballLoaded], c[TarballSkipped], c[TarballFailed])})
	}
	return out
}

func (i InstanceStatus) progress() string {
	switch {
	case i.State == InstanceFailed:
		return "failed: " + i.LastError
	case i.State == InstanceRunning:
		return "running, " + i.Health
	}
	return i.State
}

// ErrSiteFailed marks the verdict of Waiting when waiting longer cannot help: a site failed
// to converge, or instances.toml is not applied.
var ErrSiteFailed = errors.New("site failed")

// Waiting lists what the sites still wait for: nil when every service is up, the tarballs
// are settled and every declared site serves (converged, containers healthy). The error,
// marked with ErrSiteFailed, names the sites that failed with their errors, or the problems
// of an instances.toml that is not applied. A failed site is retried by wpinit, but it
// failed once with what the user declared, which is what a waiter reports.
func (s *Status) Waiting() ([]string, error) {
	if err := s.failed(); err != nil {
		return nil, err
	}
	waiting := s.Unhealthy()
	if im := s.Images; im != nil && !im.Done {
		c := im.Counts()
		waiting = append(waiting, fmt.Sprintf("images (%d of %d tarballs settled)",
			c[TarballLoaded]+c[TarballSkipped]+c[TarballFailed], len(im.Tarballs)))
	}
	in := s.Instances
	switch {
	case in == nil:
	case !in.Ready:
		waiting = append(waiting, "the first pass over "+in.File)
	default:
		for _, i := range in.Instances {
			if !i.Serving() {
				waiting = append(waiting, i.Name+" "+i.progress())
			}
		}
	}
	return waiting, nil
}

func (s *Status) failed() error {
	in := s.Instances
	if in == nil {
		return nil
	}
	if in.FileError != "" {
		var lines []string
		for _, fe := range in.FileLines {
			lines = append(lines, fe.Message)
		}
		if len(lines) == 0 {
			lines = []string{in.FileError}
		}
		return Mark(fmt.Errorf("%s is not applied: %s", in.File, strings.Join(lines, "; ")), ErrSiteFailed)
	}
	var failed []string
	for _, i := range in.Instances {
		if i.State == InstanceFailed {
			failed = append(failed, fmt.Sprintf("site %s failed: %s", i.Name, i.LastError))
		}
	}
	if len(failed) > 0 {
		return Mark(errors.New(strings.Join(failed, "; ")), ErrSiteFailed)
	}
	return nil
}
