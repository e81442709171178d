package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// An instance's logs (`ctl logs NAME [db|php|web] [-f] [-n N] [--file FILE]`): its
// containers' output, the three interleaved when no role is given, or a file of its log
// folders (logs/VERSION/), each line with the role it comes from.

// Routes of an instance's logs.
const (
	RouteInstanceLogs = "GET /v1/instances/{name}/logs"     // ?role=&n=&follow=1&file=; NDJSON of InstanceLogLine
	RouteLogFiles     = "GET /v1/instances/{name}/logfiles" // answers LogFileList
)

// Roles of an instance's containers, as the logs and the shell name them.
var InstanceRoles = []string{"db", "php", "web"}

// LogQuery is what GET .../logs asks for.
type LogQuery struct {
	Role   string // db, php or web; "" for the three
	Lines  int    // the last Lines of each, all with -1
	Follow bool   // then the lines that come, until the client goes
	File   string // a file of the log folders ("error.log") instead of the containers' output
}

// InstanceLogLine is one line of an instance's logs.
type InstanceLogLine struct {
	Time   time.Time `json:"time,omitzero"` // when the container wrote it; zero for a file's line
	Role   string    `json:"role"`
	Stream string    `json:"stream"` // stdout, stderr, or the file's path in the instance folder
	Text   string    `json:"text"`
}

// LogFile is one file of an instance's log folders.
type LogFile struct {
	Role     string    `json:"role"`
	Path     string    `json:"path"` // relative to the instance folder: logs/php-8.4/error.log
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
}

// LogFileList is the answer to GET .../logfiles.
type LogFileList struct {
	Files []LogFile `json:"files"`
}

// InstanceLogs is what the logs routes need: init/ serves it from the engine and the
// instances' folders. Errors are marked (ErrNotFound for an unknown instance or file).
type InstanceLogs interface {
	Logs(ctx context.Context, name string, q LogQuery, fn func(InstanceLogLine) error) error
	LogFiles(name string) ([]LogFile, error)
}

// HandleInstanceLogs adds the logs routes; get's error (the engine not connected yet) is
// answered as a conflict.
func (s *Server) HandleInstanceLogs(get func() (InstanceLogs, error)) {
	h := logHandlers{get}
	s.mux.HandleFunc(RouteInstanceLogs, h.logs)
	s.mux.HandleFunc(RouteLogFiles, h.files)
}

type logHandlers struct{ get func() (InstanceLogs, error) }

var logFileRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// logQuery reads and checks the query of GET .../logs.
func logQuery(v url.Values) (LogQuery, error) {
	q := LogQuery{Role: v.Get("role"), Lines: -1, File: v.Get("file"), Follow: v.Get("follow") == "1"}
	if q.Role != "" && q.Role != "db" && q.Role != "php" && q.Role != "web" {
		return q, badRequest(fmt.Sprintf("unknown role %q: use db, php or web", q.Role))
	}
	if s := v.Get("n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, badRequest(fmt.Sprintf("invalid n %q: use a count of lines", s))
		}
		q.Lines = n
	}
	if q.File != "" && !logFileRE.MatchString(q.File) {
		return q, badRequest(fmt.Sprintf("log file %q: give a file name of the log folders, such as error.log", q.File))
	}
	return q, nil
}

func (h logHandlers) source(w http.ResponseWriter, r *http.Request) (InstanceLogs, string, bool) {
	name, ok := instanceName(w, r)
	if !ok {
		return nil, "", false
	}
	src, err := h.get()
	if err != nil {
		WriteError(w, Mark(err, ErrConflict))
		return nil, "", false
	}
	return src, name, true
}

// logs streams the lines as NDJSON, flushed as they come; an error before the first line is
// the answer's, one after it ends the stream.
func (h logHandlers) logs(w http.ResponseWriter, r *http.Request) {
	q, err := logQuery(r.URL.Query())
	if err != nil {
		WriteError(w, err)
		return
	}
	src, name, ok := h.source(w, r)
	if !ok {
		return
	}
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	started := false
	start := func() {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			started = true
		}
	}
	err = src.Logs(r.Context(), name, q, func(l InstanceLogLine) error {
		start()
		if err := enc.Encode(l); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	})
	if err != nil && !started {
		WriteError(w, err)
		return
	}
	start()
}

func (h logHandlers) files(w http.ResponseWriter, r *http.Request) {
	src, name, ok := h.source(w, r)
	if !ok {
		return
	}
	files, err := src.LogFiles(name)
	answer(w, LogFileList{Files: files}, err)
}

// InstanceLogs calls fn for each line of an instance's logs as q asks, until the stream ends
// (with q.Follow: until ctx ends).
func (c *Client) InstanceLogs(ctx context.Context, name string, q LogQuery, fn func(InstanceLogLine) error) error {
	v := url.Values{}
	if q.Role != "" {
		v.Set("role", q.Role)
	}
	if q.Lines >= 0 {
		v.Set("n", strconv.Itoa(q.Lines))
	}
	if q.Follow {
		v.Set("follow", "1")
	}
	if q.File != "" {
		v.Set("file", q.File)
	}
	return readLines(ctx, c, "/v1/instances/"+url.PathEscape(name)+"/logs?"+v.Encode(), fn)
}

// LogFiles lists the files of an instance's log folders.
func (c *Client) LogFiles(ctx context.Context, name string) (*LogFileList, error) {
	var out LogFileList
	return &out, c.do(ctx, http.MethodGet, "/v1/instances/"+url.PathEscape(name)+"/logfiles", nil, &out)
}
