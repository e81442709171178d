package ctl

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// fakeData streams: the import counts the body it reads (never holding it), the export
// writes n bytes then fails with err.
type fakeData struct {
	n   int64
	err error
}

func (fakeData) Snapshot(_ context.Context, name, label string) (*SnapshotResult, error) {
	return &SnapshotResult{Instance: name, Snapshot: SnapshotManifest{Label: label}}, nil
}
func (fakeData) Snapshots(string) ([]SnapshotInfo, error) { return nil, nil }
func (fakeData) SnapshotRestore(_ context.Context, name, label string) (*SnapshotRestoreResult, error) {
	if label == "gone" {
		return nil, Mark(errors.New(`snapshot "gone": no such snapshot`), ErrNotFound)
	}
	return &SnapshotRestoreResult{Instance: name}, nil
}
func (fakeData) SnapshotRemove(context.Context, string, string) error { return nil }
func (f fakeData) DBExport(_ context.Context, _ string, out io.Writer) (int64, error) {
	n, err := io.CopyN(out, zeros{}, f.n)
	if err != nil {
		return n, err
	}
	return n, f.err
}
func (fakeData) DBImport(_ context.Context, name string, body io.Reader, old string) (*ImportResult, error) {
	n, err := io.Copy(io.Discard, body)
	return &ImportResult{Instance: name, Bytes: n, ReplaceURL: old}, err
}
func (fakeData) BackupAll(context.Context) (*AllResult, error)  { return &AllResult{}, nil }
func (fakeData) RestoreAll(context.Context) (*AllResult, error) { return &AllResult{}, nil }

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// dataClient runs a server with the data routes over fake on a socket and returns a client.
func dataClient(t *testing.T, fake fakeData) *Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	s := NewServer(sock, hclog.NewNullLogger())
	s.HandleData(func() (Data, error) { return fake, nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Ready()
	t.Cleanup(func() { cancel(); <-done })
	return NewClient(sock)
}

// TestDataStreams: 64 MiB go in as a chunked body and come out of an export as they are
// read, and an export that fails after its first byte is an error at the client (the trailer).
func TestDataStreams(t *testing.T) {
	ctx := context.Background()
	const size = 64 << 20
	c := dataClient(t, fakeData{n: size})
	res, err := c.DBImport(ctx, "blog", io.LimitReader(zeros{}, size), "https://example.com")
	if err != nil || res.Bytes != size || res.ReplaceURL != "https://example.com" {
		t.Fatalf("import: %+v, %v", res, err)
	}
	n, err := c.DBExport(ctx, "blog", io.Discard)
	if err != nil || n != size {
		t.Fatalf("export: %d bytes, %v", n, err)
	}
	c = dataClient(t, fakeData{n: 1 << 20, err: errors.New("mariadb-dump exit 2: lost connection")})
	n, err = c.DBExport(ctx, "blog", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "lost connection") || n != 1<<20 {
		t.Errorf("export cut short: %d bytes, %v", n, err)
	}
	c = dataClient(t, fakeData{err: Mark(errors.New("no such instance"), ErrNotFound)})
	var out bytes.Buffer
	_, err = c.DBExport(ctx, "nope", &out)
	var api *APIError
	if !errors.As(err, &api) || api.Code != 404 || out.Len() != 0 {
		t.Errorf("export of a missing instance: %v (%d bytes)", err, out.Len())
	}
}

func TestDataRoutes(t *testing.T) {
	ctx := context.Background()
	c := dataClient(t, fakeData{})
	if res, err := c.Snapshot(ctx, "blog", "before"); err != nil || res.Snapshot.Label != "before" {
		t.Errorf("snapshot: %+v, %v", res, err)
	}
	var api *APIError
	if _, err := c.SnapshotRestore(ctx, "blog", "gone"); !errors.As(err, &api) || api.Code != 404 {
		t.Errorf("restore of a missing snapshot: %v", err)
	}
	if _, err := c.DBImport(ctx, "blog", strings.NewReader(""), "not a url"); !errors.As(err, &api) || api.Code != 400 {
		t.Errorf("import with a bad --replace-url: %v", err)
	}
	if _, err := c.Snapshot(ctx, "Bad", ""); !errors.As(err, &api) || api.Code != 400 {
		t.Errorf("snapshot of a bad name: %v", err)
	}
}
