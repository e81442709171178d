package main

import (
	"context"
	"errors"
	"io/fs"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/images"
	// instance names a type of the package's tests (helper_test.go).
	instancedir "github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/reconciler"
	"github.com/wp-dind/wp-dind/pkg/sysinit"
)

// The pipeline's snapshots turned into ctl's wire types, which mirror them field for field
// (wire_test.go holds the JSON of each pair equal), and the adapter that serves the instance
// routes from the reconciler.

// convert maps in with f, nil kept nil (the JSON stays null, not []).
func convert[T, U any](in []T, f func(T) U) []U {
	if in == nil {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

func sysinitReport(r *sysinit.Report) *ctl.SysinitReport {
	if r == nil {
		return nil // before sysinit ran
	}
	return &ctl.SysinitReport{Iptables: ctl.IptablesChoice(r.Iptables), Steps: convert(r.Steps, func(s sysinit.Step) ctl.SysinitStep {
		return ctl.SysinitStep{Name: s.Name, Outcome: string(s.Outcome), Detail: s.Detail, Error: s.Error}
	})}
}

func imagesStatus(s images.Status) *ctl.ImagesStatus {
	return &ctl.ImagesStatus{Dir: s.Dir, Done: s.Done, Error: s.Error, Started: s.Started, Duration: s.Duration,
		Tarballs: convert(s.Tarballs, func(t images.TarballStatus) ctl.TarballStatus {
			return ctl.TarballStatus{Name: t.Name, Size: t.Size, State: ctl.TarballState(t.State), BytesRead: t.BytesRead,
				Images: t.Images, Reason: t.Reason, Error: t.Error, Duration: t.Duration}
		}), Host: hostImagesStatus(s.Host)}
}

func hostImagesStatus(h *images.HostStatus) *ctl.HostImagesStatus {
	if h == nil {
		return nil
	}
	return &ctl.HostImagesStatus{Socket: h.Socket, Error: h.Error, Images: convert(h.Images, func(i images.HostImageStatus) ctl.HostImageStatus {
		return ctl.HostImageStatus{Ref: i.Ref, ID: i.ID, Size: i.Size, State: ctl.TarballState(i.State), BytesRead: i.BytesRead,
			Reason: i.Reason, Error: i.Error, Duration: i.Duration}
	})}
}

func instancesStatus(s reconciler.Status) *ctl.InstancesStatus {
	return &ctl.InstancesStatus{File: s.File, FileError: s.FileError, LastPass: s.LastPass, Ready: s.Ready,
		FileLines: convert(s.FileLines, func(fe reconciler.FileError) ctl.FileError { return ctl.FileError(fe) }),
		Instances: convert(s.Instances, func(i reconciler.InstanceStatus) ctl.InstanceStatus { return ctl.InstanceStatus(i) }),
		Archived:  archived(s.Archived), Archives: ctl.ArchiveUsage(s.Archives)}
}

func archived(in []instancedir.Archived) []ctl.Archived {
	return convert(in, func(a instancedir.Archived) ctl.Archived { return ctl.Archived(a) })
}

func instanceDetail(d reconciler.InstanceDetail) ctl.InstanceDetail {
	out := ctl.InstanceDetail{
		InstanceStatus: ctl.InstanceStatus(d.InstanceStatus), Port: d.Port, Dir: d.Dir, Network: d.Network,
		Subnet: d.Subnet, Shared: d.Shared, Xdebug: d.Xdebug, XdebugMode: d.XdebugMode, AdminUser: d.AdminUser,
		AdminEmail: d.AdminEmail, Changed: d.Changed, KeptFiles: d.KeptFiles,
		Containers:   convert(d.Containers, func(c reconciler.ContainerStatus) ctl.ContainerStatus { return ctl.ContainerStatus(c) }),
		PathMappings: convert(d.PathMappings, func(m instancedir.PathMapping) ctl.PathMapping { return ctl.PathMapping(m) }),
		Multisite:    d.Multisite,
	}
	if d.Secrets != nil {
		s := ctl.Secrets(*d.Secrets)
		out.Secrets = &s
	}
	if d.Data != nil {
		data := ctl.DataStatus(*d.Data)
		out.Data = &data
	}
	return out
}

func restoreResult(r *reconciler.RestoreResult) *ctl.RestoreResult {
	return &ctl.RestoreResult{Instance: r.Instance, File: r.File, SetAside: r.SetAside,
		Manifest: ctl.BackupManifest(r.Manifest), Duration: r.Duration}
}

// instanceOps is what instanceAPI serves from: *reconciler.Reconciler.
type instanceOps interface {
	Detail(name string, showSecrets bool) (reconciler.InstanceDetail, error)
	Purge(name string) ([]instancedir.Archived, error)
	Xdebug(ctx context.Context, name string, on bool) (*reconciler.XdebugResult, error)
	Backup(ctx context.Context, name string) (*backup.Result, error)
	Restore(ctx context.Context, name, file string) (*reconciler.RestoreResult, error)
	Restart(ctx context.Context, name string) (*reconciler.RestartResult, error)
	Backups(name string) ([]backup.Archive, error)
}

// instanceAPI is ctl.Instances over the reconciler: wire types out, and errors marked with
// the answer they call for.
type instanceAPI struct{ ops instanceOps }

func (a instanceAPI) Detail(name string, secrets bool) (ctl.InstanceDetail, error) {
	d, err := a.ops.Detail(name, secrets)
	return instanceDetail(d), markInstanceErr(err)
}

func (a instanceAPI) Purge(name string) ([]ctl.Archived, error) {
	list, err := a.ops.Purge(name)
	return archived(list), markInstanceErr(err)
}

func (a instanceAPI) Xdebug(ctx context.Context, name string, on bool) (*ctl.XdebugResult, error) {
	res, err := a.ops.Xdebug(ctx, name, on)
	if err != nil {
		return nil, markInstanceErr(err)
	}
	out := ctl.XdebugResult(*res)
	return &out, nil
}

func (a instanceAPI) Backup(ctx context.Context, name string) (*ctl.BackupResult, error) {
	res, err := a.ops.Backup(ctx, name)
	if err != nil {
		return nil, markInstanceErr(err)
	}
	out := ctl.BackupResult(*res)
	return &out, nil
}

func (a instanceAPI) Restore(ctx context.Context, name, file string) (*ctl.RestoreResult, error) {
	res, err := a.ops.Restore(ctx, name, file)
	if err != nil {
		return nil, markInstanceErr(err)
	}
	return restoreResult(res), nil
}

func (a instanceAPI) Restart(ctx context.Context, name string) (*ctl.RestartResult, error) {
	res, err := a.ops.Restart(ctx, name)
	if err != nil {
		return nil, markInstanceErr(err)
	}
	out := ctl.RestartResult(*res)
	return &out, nil
}

func (a instanceAPI) Backups(name string) ([]ctl.BackupArchive, error) {
	list, err := a.ops.Backups(name)
	return backupArchives(list), markInstanceErr(err)
}

func backupArchives(in []backup.Archive) []ctl.BackupArchive {
	return convert(in, func(a backup.Archive) ctl.BackupArchive { return ctl.BackupArchive(a) })
}

// markInstanceErr marks the reconciler's errors with their HTTP answer.
func markInstanceErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, reconciler.ErrNoInstance), errors.Is(err, fs.ErrNotExist), errors.Is(err, instancedir.ErrNoLogFile):
		return ctl.Mark(err, ctl.ErrNotFound)
	case errors.Is(err, reconciler.ErrStopping), errors.Is(err, reconciler.ErrDeclared):
		return ctl.Mark(err, ctl.ErrConflict)
	case errors.Is(err, backup.ErrCorrupt), errors.Is(err, backup.ErrTooLarge), errors.Is(err, backup.ErrFileName):
		return ctl.Mark(err, ctl.ErrInvalid)
	}
	return err
}
