package config

import (
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// DefaultWpinitPath is where wpinit looks for its services when neither --config nor
// WPINIT_CONFIG says otherwise.
const DefaultWpinitPath = "/etc/wpinit/wpinit.toml"

// DefaultSocket is wpinit.socket's default: where wpinit serves `wpinit ctl`, and where the
// client looks when neither --socket nor WPINIT_SOCKET says otherwise.
const DefaultSocket = "/run/wpinit/ctl.sock"

// Restart policies of a service.
const (
	RestartAlways    = "always"     // restart after every exit
	RestartOnFailure = "on-failure" // restart unless the exit code is in exit_codes
	RestartNever     = "never"      // never restart once started
)

// Wpinit is a decoded and validated wpinit.toml.
type Wpinit struct {
	Version  int                 `toml:"version" json:"version"`
	Wpinit   Global              `toml:"wpinit" json:"wpinit"`
	Services map[string]*Service `toml:"services" json:"services"`

	Sysinit   Sysinit   `toml:"sysinit" json:"sysinit"`
	Docker    Docker    `toml:"docker" json:"docker"`
	Images    Images    `toml:"images" json:"images"`
	Instances Instances `toml:"instances" json:"instances"`
	Dashboard Dashboard `toml:"dashboard" json:"dashboard"`
	Router    Router    `toml:"router" json:"router"`
	Backups   Backups   `toml:"backups" json:"backups"`

	File  string   `toml:"-" json:"-"`     // path it was loaded from
	Order []string `toml:"-" json:"order"` // service names, every dependency before its dependents
}

// Global is the [wpinit] table: settings of wpinit itself.
type Global struct {
	Socket      string   `toml:"socket" json:"socket"`
	LogDir      string   `toml:"log_dir" json:"log_dir"`
	LogLevel    string   `toml:"log_level" json:"log_level"`
	StopTimeout Duration `toml:"stop_timeout" json:"stop_timeout"`
}

// Service is one [services.NAME] table: one supervised process.
type Service struct {
	Name         string            `toml:"-" json:"-"`
	Command      string            `toml:"command" json:"command"`
	Args         []string          `toml:"args" json:"args"`
	Env          map[string]string `toml:"env" json:"env"`
	Dir          string            `toml:"dir" json:"dir"`
	User         string            `toml:"user" json:"user"`
	Autostart    bool              `toml:"autostart" json:"autostart"`
	Restart      string            `toml:"restart" json:"restart"`
	ExitCodes    []int             `toml:"exit_codes" json:"exit_codes"`
	StartSecs    Duration          `toml:"start_secs" json:"start_secs"`
	StartRetries int               `toml:"start_retries" json:"start_retries"`
	Backoff      Duration          `toml:"backoff" json:"backoff"`
	BackoffMax   Duration          `toml:"backoff_max" json:"backoff_max"`
	StopSignal   Signal            `toml:"stop_signal" json:"stop_signal"`
	StopTimeout  Duration          `toml:"stop_timeout" json:"stop_timeout"`
	DependsOn    []string          `toml:"depends_on" json:"depends_on"`
	Critical     bool              `toml:"critical" json:"critical"`
	Ready        Ready             `toml:"ready" json:"ready"`
	Log          Log               `toml:"log" json:"log"`

	// Resolved at load, so that a start cannot fail on them.
	Path       string      `toml:"-" json:"path"`       // absolute path of Command
	Credential *Credential `toml:"-" json:"credential"` // nil: run as wpinit's own user
	ReadyPath  string      `toml:"-" json:"ready_path"` // absolute path of Ready.Command[0]
}

// Credential is the resolved user of a service.
type Credential struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups"`
}

// Ready is [services.NAME.ready]: how wpinit learns that a service is ready. At most one
// kind is set; with none, a service is ready as soon as it is spawned.
type Ready struct {
	Notify   bool     `toml:"notify" json:"notify"`
	TCP      string   `toml:"tcp" json:"tcp"`
	HTTP     string   `toml:"http" json:"http"`
	Unix     string   `toml:"unix" json:"unix"`
	Command  []string `toml:"command" json:"command"`
	Timeout  Duration `toml:"timeout" json:"timeout"`
	Interval Duration `toml:"interval" json:"interval"`
}

// Kind names the readiness check in use, "" for none.
func (r Ready) Kind() string {
	switch {
	case r.Notify:
		return "notify"
	case r.TCP != "":
		return "tcp"
	case r.HTTP != "":
		return "http"
	case r.Unix != "":
		return "unix"
	case len(r.Command) > 0:
		return "command"
	}
	return ""
}

// Upper bounds of [services.NAME.log]. The ring is allocated whole when the service is
// created (about 56 bytes a slot, plus the lines it holds, each up to 64 KiB); a rotation
// renames every kept file under the service's output lock.
const (
	MaxRingLines = 100_000
	MaxLogFiles  = 100
)

// Log is [services.NAME.log]: where a service's output is kept besides wpinit's stderr.
type Log struct {
	MaxSize   Size `toml:"max_size" json:"max_size"`
	MaxFiles  int  `toml:"max_files" json:"max_files"`
	RingLines int  `toml:"ring_lines" json:"ring_lines"`
}

func defaultWpinit() Wpinit {
	w := Wpinit{Wpinit: Global{
		Socket:      DefaultSocket,
		LogDir:      "/var/log/wpinit",
		LogLevel:    "info",
		StopTimeout: Duration(90 * time.Second),
	}}
	defaultBoot(&w)
	return w
}

// serviceDefaults fills in every key of a service that its table leaves out. The services
// are map values, created by the decoder, so their defaults are applied after decoding.
var serviceDefaults = []struct {
	key string
	set func(*Service)
}{
	{"autostart", func(s *Service) { s.Autostart = true }},
	{"restart", func(s *Service) { s.Restart = RestartAlways }},
	{"exit_codes", func(s *Service) { s.ExitCodes = []int{0} }},
	{"start_secs", func(s *Service) { s.StartSecs = Duration(time.Second) }},
	{"start_retries", func(s *Service) { s.StartRetries = 5 }},
	{"backoff", func(s *Service) { s.Backoff = Duration(100 * time.Millisecond) }},
	{"backoff_max", func(s *Service) { s.BackoffMax = Duration(10 * time.Second) }},
	{"stop_signal", func(s *Service) { s.StopSignal = Signal(15) }},
	{"stop_timeout", func(s *Service) { s.StopTimeout = Duration(10 * time.Second) }},
	{"ready.timeout", func(s *Service) { s.Ready.Timeout = Duration(60 * time.Second) }},
	{"ready.interval", func(s *Service) { s.Ready.Interval = Duration(100 * time.Millisecond) }},
	{"log.max_size", func(s *Service) { s.Log.MaxSize = Size(10 << 20) }},
	{"log.max_files", func(s *Service) { s.Log.MaxFiles = 3 }},
	{"log.ring_lines", func(s *Service) { s.Log.RingLines = 1000 }},
}

func (s *Service) applyDefaults(md toml.MetaData) {
	for _, d := range serviceDefaults {
		key := append([]string{"services", s.Name}, strings.Split(d.key, ".")...)
		if !md.IsDefined(key...) {
			d.set(s)
		}
	}
}

// LoadWpinit reads, decodes and validates a wpinit.toml. On error nothing is returned and
// the error joins one FieldError per problem.
func LoadWpinit(path string) (*Wpinit, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ParseWpinit(path, data)
}

// ParseWpinit decodes and validates data, naming file in errors. Whatever data holds, it
// returns: a panic of the parser is an error too (ErrParserFailed).
func ParseWpinit(file string, data []byte) (*Wpinit, error) {
	return guarded(file, func() (*Wpinit, error) { return parseWpinit(file, data) })
}

func parseWpinit(file string, data []byte) (*Wpinit, error) {
	w := defaultWpinit()
	p, md, err := decodeStrict(file, data, &w)
	if err != nil {
		return nil, err
	}
	w.File = file
	for name, s := range w.Services {
		if s == nil {
			s = &Service{}
			w.Services[name] = s
		}
		s.Name = name
		s.applyDefaults(md)
	}
	p.checkVersion(md, w.Version)
	w.validate(p)
	slices.SortStableFunc(p.errs, func(a, b error) int { return lineOf(a) - lineOf(b) })
	if err := p.err(); err != nil {
		return nil, err
	}
	return &w, nil
}

// lineOf orders problems top to bottom; file-wide ones (line 0) come first.
func lineOf(err error) int {
	if fe, ok := err.(*FieldError); ok {
		return fe.Line
	}
	return 0
}
