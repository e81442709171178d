package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/backup"
	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/images"
	instancedir "github.com/wp-dind/wp-dind/pkg/instance"
	"github.com/wp-dind/wp-dind/pkg/reconciler"
	"github.com/wp-dind/wp-dind/pkg/sitelogs"
	"github.com/wp-dind/wp-dind/pkg/sysinit"
)

// filled returns a T with every field set, recursively (one element per slice and map), so
// that a field the conversion forgets, or a wire type lacks, shows in the JSON.
func filled[T any]() T {
	var v T
	fill(reflect.ValueOf(&v).Elem(), "v")
	return v
}

func fill(v reflect.Value, path string) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2026, 12, 1, 9, 8, 7, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint32:
		v.Set(reflect.ValueOf(int64(len(path))).Convert(v.Type()))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), path)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), path+"[0]")
	case reflect.Map:
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, path+".key")
		fill(e, path+".value")
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(k, e)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	default:
		panic(fmt.Sprintf("fill: %s of kind %s", path, v.Kind()))
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameJSON: the wire value serialises exactly like the domain value it was made from.
func sameJSON(t *testing.T, name string, domain, wire any) {
	t.Helper()
	if d, w := jsonOf(t, domain), jsonOf(t, wire); d != w {
		t.Errorf("%s: the wire JSON differs from the domain's\ndomain %s\nwire   %s", name, d, w)
	}
}

// TestWireJSON holds ctl's wire types against the snapshots they are made from: the JSON on
// the socket is the one the domain types gave before ctl owned its types, filled and empty.
func TestWireJSON(t *testing.T) {
	rep := filled[sysinit.Report]()
	sameJSON(t, "sysinit", rep, sysinitReport(&rep))
	sameJSON(t, "sysinit before it ran", (*sysinit.Report)(nil), sysinitReport(nil))
	for name, st := range map[string]images.Status{"filled": filled[images.Status](), "empty": {Dir: "/d"}} {
		sameJSON(t, "images "+name, st, imagesStatus(st))
	}
	for name, st := range map[string]reconciler.Status{"filled": filled[reconciler.Status](), "empty": {File: "/i.toml"}} {
		sameJSON(t, "instances "+name, st, instancesStatus(st))
	}
	for name, d := range map[string]reconciler.InstanceDetail{"filled": filled[reconciler.InstanceDetail](), "empty": {}} {
		sameJSON(t, "detail "+name, d, instanceDetail(d))
	}
	res := filled[reconciler.RestoreResult]()
	sameJSON(t, "restore", res, restoreResult(&res))
	sameJSON(t, "xdebug", filled[reconciler.XdebugResult](), ctl.XdebugResult(filled[reconciler.XdebugResult]()))
	sameJSON(t, "backup", filled[backup.Result](), ctl.BackupResult(filled[backup.Result]()))
	sameJSON(t, "archived", filled[[]instancedir.Archived](), archived(filled[[]instancedir.Archived]()))
	sameJSON(t, "restart", filled[reconciler.RestartResult](), ctl.RestartResult(filled[reconciler.RestartResult]()))
	sameJSON(t, "backups", filled[[]backup.Archive](), backupArchives(filled[[]backup.Archive]()))
	line := filled[sitelogs.Line]()
	sameJSON(t, "log line", line, ctl.InstanceLogLine(line))
	lf := filled[instancedir.LogFile]()
	sameJSON(t, "log file", lf, logFile(lf))
}

// TestWireStates: the state names ctl's clients compare with are the domain's.
func TestWireStates(t *testing.T) {
	pairs := [][2]string{
		{string(ctl.TarballPending), string(images.Pending)}, {string(ctl.TarballChecking), string(images.Checking)},
		{string(ctl.TarballLoading), string(images.Loading)}, {string(ctl.TarballLoaded), string(images.Loaded)},
		{string(ctl.TarballSkipped), string(images.Skipped)}, {string(ctl.TarballFailed), string(images.Failed)},
		{ctl.InstanceConverging, reconciler.StateConverging}, {ctl.InstanceRunning, reconciler.StateRunning},
		{ctl.InstanceFailed, reconciler.StateFailed}, {ctl.InstanceRemoving, reconciler.StateRemoving},
		{ctl.InstancePending, reconciler.StatePending},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("ctl says %q where the domain says %q", p[0], p[1])
		}
	}
}

// fakeOps answers every call with a filled value, or with err when set.
type fakeOps struct{ err error }

func (f fakeOps) Detail(string, bool) (reconciler.InstanceDetail, error) {
	return filled[reconciler.InstanceDetail](), f.err
}
func (f fakeOps) Purge(string) ([]instancedir.Archived, error) {
	return filled[[]instancedir.Archived](), f.err
}
func (f fakeOps) Xdebug(context.Context, string, bool) (*reconciler.XdebugResult, error) {
	return result[reconciler.XdebugResult](f.err)
}
func (f fakeOps) Backup(context.Context, string) (*backup.Result, error) {
	return result[backup.Result](f.err)
}
func (f fakeOps) Restore(context.Context, string, string) (*reconciler.RestoreResult, error) {
	return result[reconciler.RestoreResult](f.err)
}
func (f fakeOps) Restart(context.Context, string) (*reconciler.RestartResult, error) {
	return result[reconciler.RestartResult](f.err)
}
func (f fakeOps) Backups(string) ([]backup.Archive, error) {
	return filled[[]backup.Archive](), f.err
}

// result is what a job returns: a value, or nil with the error.
func result[T any](err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	v := filled[T]()
	return &v, nil
}

// TestInstanceAPI: the adapter answers the reconciler's values as wire types and marks its
// errors with the HTTP answer they call for.
func TestInstanceAPI(t *testing.T) {
	ctx := context.Background()
	calls := func(a instanceAPI) map[string]func() (any, error) {
		return map[string]func() (any, error){
			"detail":  func() (any, error) { return a.Detail("x", true) },
			"purge":   func() (any, error) { return a.Purge("x") },
			"xdebug":  func() (any, error) { return a.Xdebug(ctx, "x", true) },
			"backup":  func() (any, error) { return a.Backup(ctx, "x") },
			"restore": func() (any, error) { return a.Restore(ctx, "x", "f") },
			"restart": func() (any, error) { return a.Restart(ctx, "x") },
			"backups": func() (any, error) { return a.Backups("x") },
		}
	}
	for name, call := range calls(instanceAPI{fakeOps{}}) {
		if v, err := call(); err != nil || jsonOf(t, v) == "null" {
			t.Errorf("%s: %s, %v", name, jsonOf(t, v), err)
		}
	}
	for _, tt := range []struct {
		err  error
		kind error // nil: unmarked
	}{
		{fmt.Errorf("status of %q: %w", "x", reconciler.ErrNoInstance), ctl.ErrNotFound},
		{fmt.Errorf("open backup: %w", fs.ErrNotExist), ctl.ErrNotFound},
		{fmt.Errorf("job on %q: %w", "x", reconciler.ErrStopping), ctl.ErrConflict},
		{fmt.Errorf("restore: %w", backup.ErrCorrupt), ctl.ErrInvalid},
		{fmt.Errorf("restore: %w", backup.ErrTooLarge), ctl.ErrInvalid},
		{fmt.Errorf("restore: %w", backup.ErrFileName), ctl.ErrInvalid},
		{fmt.Errorf("purge: it is %w", reconciler.ErrDeclared), ctl.ErrConflict},
		{errors.New("engine gone"), nil},
	} {
		for name, call := range calls(instanceAPI{fakeOps{tt.err}}) {
			_, err := call()
			marked := tt.kind != nil && errors.Is(err, tt.kind)
			if err == nil || err.Error() != tt.err.Error() || (tt.kind != nil) != marked ||
				errors.Is(err, ctl.ErrNotFound) && tt.kind != ctl.ErrNotFound {
				t.Errorf("%s with %q: got %v, want it marked %v", name, tt.err, err, tt.kind)
			}
		}
	}
}
