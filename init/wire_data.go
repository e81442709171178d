package main

import (
	"context"
	"errors"
	"io"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	instancedir "github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/reconciler"
)

// The data routes (snapshots, db export and import, --all) over the reconciler: ctl.Data.

// dataOps is what dataAPI serves from: *reconciler.Reconciler.
type dataOps interface {
	Snapshot(ctx context.Context, name, label string) (*reconciler.SnapshotResult, error)
	Snapshots(name string) ([]instancedir.SnapshotInfo, error)
	SnapshotRestore(ctx context.Context, name, label string) (*reconciler.SnapshotRestoreResult, error)
	SnapshotRemove(ctx context.Context, name, label string) error
	DBExport(ctx context.Context, name string, out io.Writer) (int64, error)
	DBImport(ctx context.Context, name string, body io.Reader, replaceURL string) (*reconciler.ImportResult, error)
	BackupAll(ctx context.Context) (*reconciler.AllResult, error)
	RestoreAll(ctx context.Context) (*reconciler.AllResult, error)
}

type dataAPI struct{ ops dataOps }

func (a dataAPI) Snapshot(ctx context.Context, name, label string) (*ctl.SnapshotResult, error) {
	res, err := a.ops.Snapshot(ctx, name, label)
	if err != nil {
		return nil, markDataErr(err)
	}
	return &ctl.SnapshotResult{Instance: res.Instance, Snapshot: ctl.SnapshotManifest(res.Snapshot), Path: res.Path, Duration: res.Duration}, nil
}

func (a dataAPI) Snapshots(name string) ([]ctl.SnapshotInfo, error) {
	list, err := a.ops.Snapshots(name)
	return convert(list, func(s instancedir.SnapshotInfo) ctl.SnapshotInfo {
		return ctl.SnapshotInfo{SnapshotManifest: ctl.SnapshotManifest(s.SnapshotManifest), DiskBytes: s.DiskBytes}
	}), markDataErr(err)
}

func (a dataAPI) SnapshotRestore(ctx context.Context, name, label string) (*ctl.SnapshotRestoreResult, error) {
	res, err := a.ops.SnapshotRestore(ctx, name, label)
	if err != nil {
		return nil, markDataErr(err)
	}
	return &ctl.SnapshotRestoreResult{Instance: res.Instance, Snapshot: ctl.SnapshotManifest(res.Snapshot), SetAside: res.SetAside, Duration: res.Duration}, nil
}

func (a dataAPI) SnapshotRemove(ctx context.Context, name, label string) error {
	return markDataErr(a.ops.SnapshotRemove(ctx, name, label))
}

func (a dataAPI) DBExport(ctx context.Context, name string, out io.Writer) (int64, error) {
	n, err := a.ops.DBExport(ctx, name, out)
	return n, markDataErr(err)
}

func (a dataAPI) DBImport(ctx context.Context, name string, body io.Reader, replaceURL string) (*ctl.ImportResult, error) {
	res, err := a.ops.DBImport(ctx, name, body, replaceURL)
	if err != nil {
		return nil, markDataErr(err)
	}
	return importResult(res), nil
}

func importResult(r *reconciler.ImportResult) *ctl.ImportResult {
	out := &ctl.ImportResult{Instance: r.Instance, Bytes: r.Bytes, Gzip: r.Gzip, ReplaceURL: r.ReplaceURL, URL: r.URL, Duration: r.Duration}
	if r.Replaced != nil {
		rr := ctl.ReplaceResult(*r.Replaced)
		out.Replaced = &rr
	}
	return out
}

func (a dataAPI) BackupAll(ctx context.Context) (*ctl.AllResult, error) {
	res, err := a.ops.BackupAll(ctx)
	return allResult(res), markDataErr(err)
}

func (a dataAPI) RestoreAll(ctx context.Context) (*ctl.AllResult, error) {
	res, err := a.ops.RestoreAll(ctx)
	return allResult(res), markDataErr(err)
}

func allResult(r *reconciler.AllResult) *ctl.AllResult {
	if r == nil {
		return nil
	}
	return &ctl.AllResult{Failed: r.Failed, Duration: r.Duration,
		Items: convert(r.Items, func(i reconciler.AllItem) ctl.AllItem { return ctl.AllItem(i) })}
}

// markDataErr marks the data errors with their answer, then the instance ones.
func markDataErr(err error) error {
	switch {
	case errors.Is(err, instancedir.ErrNoSnapshot):
		return ctl.Mark(err, ctl.ErrNotFound)
	case errors.Is(err, reconciler.ErrSnapshotVersion), errors.Is(err, instancedir.ErrTreeEntry):
		return ctl.Mark(err, ctl.ErrInvalid)
	}
	return markInstanceErr(err)
}
