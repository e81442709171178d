package ctl

import (
	"fmt"
	"time"
)

// Routes of the API. Patterns use Go 1.22 method and wildcard syntax.
const (
	RouteStatus   = "GET /v1/status"
	RouteService  = "POST /v1/services/{name}/{action}" // start, stop, restart
	RouteSignal   = "POST /v1/services/{name}/signal"
	RouteLogs     = "GET /v1/services/{name}/logs" // ?n=N&follow=1, NDJSON of LogLine
	RouteReload   = "POST /v1/reload"
	RouteShutdown = "POST /v1/shutdown"
)

// Section names a part of GET /v1/status: the JSON key of its field in Status.
type Section string

// The sections, in the order wpinit registers them.
const (
	SectionWpinit    Section = "wpinit"
	SectionServices  Section = "services"
	SectionSysinit   Section = "sysinit"
	SectionDocker    Section = "docker"
	SectionImages    Section = "images"
	SectionInstances Section = "instances"
)

// Status is the answer to GET /v1/status: one field per section. Sections a server does not
// register are left empty.
type Status struct {
	Wpinit    *DaemonStatus    `json:"wpinit,omitempty"`
	Services  []ServiceStatus  `json:"services,omitempty"`
	Sysinit   *SysinitReport   `json:"sysinit,omitempty"`
	Docker    *DockerStatus    `json:"docker,omitempty"`
	Images    *ImagesStatus    `json:"images,omitempty"`
	Instances *InstancesStatus `json:"instances,omitempty"`
	Router    *RouterStatus    `json:"router,omitempty"`
}

// DockerStatus is the "docker" section: the engine images and instances live in.
type DockerStatus struct {
	Host       string `json:"host"`
	Connected  bool   `json:"connected"`
	APIVersion string `json:"api_version,omitempty"`
	Error      string `json:"error,omitempty"` // of the last failed connection attempt
}

// DaemonStatus is the "wpinit" section: the daemon itself.
type DaemonStatus struct {
	Version     string    `json:"version"`
	Pid         int       `json:"pid"`
	Started     time.Time `json:"started"`
	Config      string    `json:"config"`                 // path of wpinit.toml
	ConfigError string    `json:"config_error,omitempty"` // why the last reload was refused
	Reaped      uint64    `json:"reaped"`                 // processes reaped
	Orphans     uint64    `json:"orphans"`                // of which nobody had started
}

// ServiceStatus is one service in the "services" section.
type ServiceStatus struct {
	Name       string    `json:"name"`
	State      string    `json:"state"`
	Pid        int       `json:"pid"`
	Ready      bool      `json:"ready"`
	Started    time.Time `json:"started"` // zero when no process runs
	Restarts   int       `json:"restarts"`
	LastExit   string    `json:"last_exit,omitempty"` // "exit 1", "signal 9 (SIGKILL)"
	ExitCode   int       `json:"exit_code"`           // of the last exit; -1 for a signal
	ExitSignal int       `json:"exit_signal"`         // of the last exit; 0 for an exit code
	Error      string    `json:"error,omitempty"`
	Critical   bool      `json:"critical"`
}

// LogLine is one line of a service's output, as GET .../logs streams them.
type LogLine struct {
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"`
	Text   string    `json:"text"`
}

// SignalRequest is the body of POST .../signal.
type SignalRequest struct {
	Signal string `json:"signal"` // "HUP", "SIGUSR1"
}

// ErrorResponse is the body of every answer that is not 2xx.
type ErrorResponse struct {
	Error string `json:"error"`
}

// set stores a section's value, given as the type of its field or a pointer to it.
func (s *Status) set(name Section, v any) error {
	ok := true
	switch name {
	case SectionWpinit:
		ok = assign(&s.Wpinit, v)
	case SectionServices:
		s.Services, ok = v.([]ServiceStatus)
	case SectionSysinit:
		ok = assign(&s.Sysinit, v)
	case SectionDocker:
		ok = assign(&s.Docker, v)
	case SectionImages:
		ok = assign(&s.Images, v)
	case SectionInstances:
		ok = assign(&s.Instances, v)
	case SectionRouter:
		ok = assign(&s.Router, v)
	default:
		return fmt.Errorf("status section %q: unknown", name)
	}
	if !ok {
		return fmt.Errorf("status section %q: a %T is not its type", name, v)
	}
	return nil
}

// assign sets *dst from a T or a *T (nil stays nil).
func assign[T any](dst **T, v any) bool {
	switch x := v.(type) {
	case T:
		*dst = &x
	case *T:
		*dst = x
	default:
		return false
	}
	return true
}
