package ctl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// fakeInstances knows one instance, "site"; "busy" is refused as stopping. Its errors are
// marked the way init/'s adapter marks the reconciler's.
type fakeInstances struct{}

func (fakeInstances) check(name string) error {
	switch name {
	case "site":
		return nil
	case "busy":
		return Mark(fmt.Errorf("job on %q: stopping", name), ErrConflict)
	}
	return Mark(fmt.Errorf("status of %q: no such instance", name), ErrNotFound)
}

func (f fakeInstances) Detail(name string, secrets bool) (InstanceDetail, error) {
	d := InstanceDetail{InstanceStatus: InstanceStatus{Name: name}}
	if secrets {
		d.Secrets = &Secrets{DBPassword: "s3cret"}
	}
	return d, f.check(name)
}

func (f fakeInstances) Purge(name string) ([]Archived, error) {
	return []Archived{{Name: name, Path: "/x/.archive/" + name}}, f.check(name)
}

func (f fakeInstances) Xdebug(_ context.Context, name string, on bool) (*XdebugResult, error) {
	return &XdebugResult{Instance: name, Mode: map[bool]string{true: "debug", false: "off"}[on], Changed: true}, f.check(name)
}

func (f fakeInstances) Backup(_ context.Context, name string) (*BackupResult, error) {
	return &BackupResult{Path: "/x/backups/" + name + ".tar.gz", Bytes: 10}, f.check(name)
}

func (f fakeInstances) Restore(_ context.Context, name, file string) (*RestoreResult, error) {
	if file == "bad.tar.gz" {
		return nil, Mark(fmt.Errorf("restore %q: not a usable wp-dind backup", name), ErrInvalid)
	}
	return &RestoreResult{Instance: name, File: file}, f.check(name)
}

func (f fakeInstances) Restart(_ context.Context, name string) (*RestartResult, error) {
	return &RestartResult{Instance: name, Containers: []string{name + "-db", name + "-php", name + "-web"}}, f.check(name)
}

func (f fakeInstances) Backups(name string) ([]BackupArchive, error) {
	if name == "" {
		return []BackupArchive{{Instance: "site"}, {Instance: "other"}}, nil
	}
	return []BackupArchive{{Instance: name, Bytes: 7}}, f.check(name)
}

func TestInstanceHandlers(t *testing.T) {
	running := true
	s := NewServer("/unused", hclog.NewNullLogger())
	s.HandleInstances(func() (Instances, error) {
		if !running {
			return nil, errors.New("instances are not managed yet")
		}
		return fakeInstances{}, nil
	})
	tests := []struct {
		method, path, body string
		want               int
		contains           string
	}{
		{"GET", "/v1/instances/site", "", 200, `"name":"site"`},
		{"GET", "/v1/instances/site?secrets=1", "", 200, `"db_password":"s3cret"`},
		{"GET", "/v1/instances/nope", "", 404, "no such instance"},
		{"POST", "/v1/instances/site/purge", "", 200, `"purged"`},
		{"POST", "/v1/instances/site/xdebug", `{"on":true}`, 200, `"mode":"debug"`},
		{"POST", "/v1/instances/site/xdebug", `not json`, 400, "decode xdebug request"},
		{"POST", "/v1/instances/busy/xdebug", `{"on":false}`, 409, "stopping"},
		{"POST", "/v1/instances/site/backup", "", 200, `"bytes":10`},
		{"POST", "/v1/instances/site/restore", `{"file":"a.tar.gz"}`, 200, `"file":"a.tar.gz"`},
		{"POST", "/v1/instances/site/restore", `{}`, 400, "restore needs a file"},
		{"POST", "/v1/instances/site/restore", `{"file":"bad.tar.gz"}`, 422, "not a usable wp-dind backup"},
		{"POST", "/v1/instances/site/restore", `{"file":"/b/a.tar.gz"}`, 200, `"file":"/b/a.tar.gz"`},
		{"POST", "/v1/instances/site/restore", `{"file":"b/a.tar.gz"}`, 400, "a path must be absolute"},
		// A name config refuses names no instance: 400, whatever the route.
		{"GET", "/v1/instances/a%2Fb", "", 400, `invalid name \"a/b\"`},
		{"POST", "/v1/instances/a%2Fb/purge", "", 400, `invalid name \"a/b\"`},
		{"POST", "/v1/instances/a%2F..%2F..%2Fetc/restore", `{"file":"a.tar.gz"}`, 400, `invalid name \"a/../../etc\"`},
		{"POST", "/v1/instances/Site/backup", "", 400, `invalid name \"Site\"`},
		{"POST", "/v1/instances/a%20b/xdebug", `{"on":true}`, 400, `invalid name \"a b\"`},
		{"POST", "/v1/instances/site/restart", "", 200, `"containers":["site-db","site-php","site-web"]`},
		{"POST", "/v1/instances/nope/restart", "", 404, "no such instance"},
		{"GET", "/v1/backups?instance=site", "", 200, `"archives":[{"instance":"site"`},
		{"GET", "/v1/backups", "", 200, `"instance":"other"`},
		{"GET", "/v1/backups?instance=nope", "", 404, "no such instance"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.body, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("got %d %s, want %d containing %q", rec.Code, rec.Body, tt.want, tt.contains)
			}
		})
	}
	running = false
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/v1/instances/site", nil))
	if rec.Code != http.StatusConflict {
		t.Errorf("before the reconciler runs: got %d, want 409", rec.Code)
	}
}

func TestRestoreFile(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"blog-20261128-090807.tar.gz": "blog-20261128-090807.tar.gz", // a name in the backups folder
		"./blog.tar.gz":               filepath.Join(cwd, "blog.tar.gz"),
		"sub/blog.tar.gz":             filepath.Join(cwd, "sub", "blog.tar.gz"),
		"../blog.tar.gz":              filepath.Join(filepath.Dir(cwd), "blog.tar.gz"),
		"/tmp/blog.tar.gz":            "/tmp/blog.tar.gz",
	} {
		if got, err := RestoreFile(file); err != nil || got != want {
			t.Errorf("RestoreFile(%q) = %q, %v; want %q", file, got, err, want)
		}
	}
}
