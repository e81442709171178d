package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/docker"
	instancedir "github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/reconciler"
	"github.com/wp-dind/wp-dind/pkg/sitelogs"
)

// instanceLogs serves `ctl logs NAME` for an instance: its containers' output through the
// engine, or its log files, both read by pkg/sitelogs.
type instanceLogs struct {
	rec *reconciler.Reconciler
	eng *docker.Client
}

// logs serves the logs routes once the reconciler runs.
func (p *instances) logs() (ctl.InstanceLogs, error) {
	r, err := p.reconciler()
	if err != nil {
		return nil, err
	}
	return instanceLogs{rec: r, eng: p.engine.client}, nil
}

// roles are the roles q asks for: its own, or the three.
func roles(q ctl.LogQuery) []string {
	if q.Role != "" {
		return []string{q.Role}
	}
	return ctl.InstanceRoles
}

func (a instanceLogs) Logs(ctx context.Context, name string, q ctl.LogQuery, fn func(ctl.InstanceLogLine) error) error {
	send := func(l sitelogs.Line) error { return fn(ctl.InstanceLogLine(l)) }
	if q.File != "" {
		files, err := a.openFiles(name, q)
		if err != nil {
			return err
		}
		defer func() {
			for _, f := range files {
				f.F.Close()
			}
		}()
		return sitelogs.Files(ctx, files, q.Lines, q.Follow, send)
	}
	d, err := a.rec.Detail(name, false)
	if err != nil {
		return markInstanceErr(err)
	}
	var cs []sitelogs.Container
	for _, role := range roles(q) {
		for _, c := range d.Containers {
			if c.Role == role {
				cs = append(cs, sitelogs.Container{Role: role, ID: c.ID})
			}
		}
	}
	if len(cs) == 0 {
		return ctl.Mark(fmt.Errorf("logs of %q: no %s container", name, orDefault(q.Role, "")), ctl.ErrNotFound)
	}
	return sitelogs.Containers(ctx, a.eng, cs, q.Lines, q.Follow, send)
}

// openFiles opens q.File in the log folder of each role asked for: a role without it is
// left out when several are asked for.
func (a instanceLogs) openFiles(name string, q ctl.LogQuery) ([]sitelogs.File, error) {
	var files []sitelogs.File
	for _, role := range roles(q) {
		f, err := a.rec.OpenLogFile(name, instancedir.Role(role), q.File)
		if errors.Is(err, instancedir.ErrNoLogFile) && q.Role == "" {
			continue
		}
		if err != nil {
			for _, f := range files {
				f.F.Close()
			}
			return nil, markInstanceErr(err)
		}
		files = append(files, sitelogs.File{Role: role, Name: q.File, F: f})
	}
	if len(files) == 0 {
		return nil, ctl.Mark(fmt.Errorf("logs of %q: no log folder holds %s (ctl logs %s lists them)", name, q.File, name), ctl.ErrNotFound)
	}
	return files, nil
}

func (a instanceLogs) LogFiles(name string) ([]ctl.LogFile, error) {
	files, err := a.rec.LogFiles(name)
	return convert(files, logFile), markInstanceErr(err)
}

func logFile(f instancedir.LogFile) ctl.LogFile {
	return ctl.LogFile{Role: string(f.Role), Path: f.Path, Size: f.Size, Modified: f.Modified}
}
