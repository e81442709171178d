package docker

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
)

// TestFollowLogs: the multiplexed stream comes out as lines tagged with their stream, the
// tail is asked for, a line past MaxLogLine is cut, and the follow ends with the stream.
func TestFollowLogs(t *testing.T) {
	var tail string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Header().Set("Api-Version", "1.41")
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/containers/abc/logs") {
			http.NotFound(w, r)
			return
		}
		tail = r.URL.Query().Get("tail")
		frame(w, stdcopy.Stdout, "one\ntwo\r\n")
		frame(w, stdcopy.Stderr, strings.Repeat("x", MaxLogLine+10)+"\nthree\n")
	}))
	defer srv.Close()
	c, err := Connect(context.Background(), "tcp://"+strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []LogLine
	err = c.FollowLogs(context.Background(), "abc", 50, func(l LogLine) error { got = append(got, l); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if tail != "50" {
		t.Errorf("tail = %q", tail)
	}
	var stdout, stderr []string
	for _, l := range got {
		if l.Stream == "stdout" {
			stdout = append(stdout, l.Text)
		} else {
			stderr = append(stderr, l.Text)
		}
	}
	if strings.Join(stdout, "|") != "one|two" || len(stderr) != 2 || len(stderr[0]) != MaxLogLine || stderr[1] != "three" {
		t.Errorf("stdout %q, stderr %d lines (%d bytes first), %q", stdout, len(stderr), len(stderr[0]), stderr[len(stderr)-1])
	}
}

// frame writes one frame of Docker's multiplexed stream: stream type, 3 zero bytes, size.
func frame(w io.Writer, stream stdcopy.StdType, data string) {
	hdr := make([]byte, 8)
	hdr[0] = byte(stream)
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(data)))
	_, _ = w.Write(append(hdr, data...))
}

// TestLogsStamped: Logs asks for timestamps, the whole output or a tail, from a time, and
// hands each line its time, the stamp taken off.
func TestLogsStamped(t *testing.T) {
	var q url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Header().Set("Api-Version", "1.41")
			return
		}
		q = r.URL.Query()
		frame(w, stdcopy.Stdout, "2026-12-01T09:08:07.123456789Z GET / 200\n")
		frame(w, stdcopy.Stderr, "2026-12-01T09:08:08Z \nno stamp\n")
	}))
	defer srv.Close()
	c, err := Connect(context.Background(), "tcp://"+strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []LogLine
	since := time.Date(2026, 12, 1, 9, 0, 0, 5, time.UTC)
	err = c.Logs(context.Background(), "abc", LogsOptions{Tail: -1, Since: since}, func(l LogLine) error { got = append(got, l); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if q.Get("timestamps") != "1" || (q.Get("tail") != "all" && q.Get("tail") != "") || q.Get("since") != fmt.Sprintf("%d.000000005", since.Unix()) || q.Get("follow") != "" {
		t.Errorf("query = %v", q)
	}
	// stdout and stderr have no order between them.
	sort.SliceStable(got, func(i, j int) bool { return got[i].Stream > got[j].Stream })
	if len(got) != 3 || got[0].Text != "GET / 200" || got[0].Time.Nanosecond() != 123456789 || got[1].Text != "" ||
		got[1].Time.IsZero() || got[2].Text != "no stamp" || !got[2].Time.IsZero() {
		t.Errorf("lines = %+v", got)
	}
}
