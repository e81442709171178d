package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	instancedir "github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/reconciler"
)

// TestWireDataJSON holds the data routes' wire types against the reconciler's values.
func TestWireDataJSON(t *testing.T) {
	for name, d := range map[string]reconciler.DataStatus{"filled": filled[reconciler.DataStatus](), "empty": {}} {
		sameJSON(t, "data "+name, d, ctl.DataStatus(d))
	}
	snap := filled[reconciler.SnapshotResult]()
	got, _ := dataAPI{fakeData{}}.Snapshot(context.Background(), "x", "")
	sameJSON(t, "snapshot", snap, got)
	list, _ := dataAPI{fakeData{}}.Snapshots("x")
	sameJSON(t, "snapshots", filled[[]instancedir.SnapshotInfo](), list)
	rr, _ := dataAPI{fakeData{}}.SnapshotRestore(context.Background(), "x", "l")
	sameJSON(t, "snapshot restore", filled[reconciler.SnapshotRestoreResult](), rr)
	imp := filled[reconciler.ImportResult]()
	sameJSON(t, "import", imp, importResult(&imp))
	all := filled[reconciler.AllResult]()
	sameJSON(t, "all", all, allResult(&all))
}

// fakeData answers every call with a filled value, or with err when set; the export writes
// the body it was given, the import reads it.
type fakeData struct {
	err  error
	body string
}

func (f fakeData) Snapshot(context.Context, string, string) (*reconciler.SnapshotResult, error) {
	return result[reconciler.SnapshotResult](f.err)
}
func (f fakeData) Snapshots(string) ([]instancedir.SnapshotInfo, error) {
	return filled[[]instancedir.SnapshotInfo](), f.err
}
func (f fakeData) SnapshotRestore(context.Context, string, string) (*reconciler.SnapshotRestoreResult, error) {
	return result[reconciler.SnapshotRestoreResult](f.err)
}
func (f fakeData) SnapshotRemove(context.Context, string, string) error { return f.err }
func (f fakeData) DBExport(_ context.Context, _ string, out io.Writer) (int64, error) {
	n, _ := io.WriteString(out, f.body)
	return int64(n), f.err
}
func (f fakeData) DBImport(_ context.Context, name string, body io.Reader, old string) (*reconciler.ImportResult, error) {
	data, err := io.ReadAll(body)
	if err != nil || f.err != nil {
		return nil, errors.Join(err, f.err)
	}
	return &reconciler.ImportResult{Instance: name, Bytes: int64(len(data)), ReplaceURL: old}, nil
}
func (f fakeData) BackupAll(context.Context) (*reconciler.AllResult, error) {
	return result[reconciler.AllResult](f.err)
}
func (f fakeData) RestoreAll(context.Context) (*reconciler.AllResult, error) {
	return result[reconciler.AllResult](f.err)
}

// TestDataAPIErrors: a missing snapshot is 404, another server's snapshot and a refused
// entry 422, the rest as the instance routes mark them.
func TestDataAPIErrors(t *testing.T) {
	for _, tt := range []struct {
		err, kind error
	}{
		{fmt.Errorf("snapshot: %w", instancedir.ErrNoSnapshot), ctl.ErrNotFound},
		{fmt.Errorf("snapshot: %w", reconciler.ErrSnapshotVersion), ctl.ErrInvalid},
		{fmt.Errorf("copy: %w", instancedir.ErrTreeEntry), ctl.ErrInvalid},
		{fmt.Errorf("job: %w", reconciler.ErrNoInstance), ctl.ErrNotFound},
	} {
		_, err := dataAPI{fakeData{err: tt.err}}.SnapshotRestore(context.Background(), "x", "l")
		if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.err.Error()) {
			t.Errorf("%v: marked %v, want %v", tt.err, err, tt.kind)
		}
	}
}
