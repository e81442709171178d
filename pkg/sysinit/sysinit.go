package sysinit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wp-dind/wp-dind/pkg/firewall"
)

// Options names every path Prepare touches. A step whose path is empty is skipped ("not
// configured"), so a zero Options does nothing; DefaultOptions gives the container's real paths.
type Options struct {
	// DataRoot is dockerd's --data-root. It must not be on overlayfs.
	DataRoot string
	// CgroupRoot is the cgroup mount to nest in; nesting happens only when it is cgroup2.
	CgroupRoot string
	// CgroupInit is the child group that receives the root group's processes ("init").
	CgroupInit string
	// SecurityFS is where securityfs is mounted when it is not already.
	SecurityFS string
	// PropagationRoot is made rshared (dockerd needs shared propagation for volume mounts).
	PropagationRoot string
	// PidFiles are removed when they name a dead process or one that is not their program.
	PidFiles []PidFile
	// Iptables chooses the iptables backend; an empty Iptables.BinDir skips the step.
	Iptables IptablesOptions
	// Daemon renders dockerd's effective daemon.json; an empty Daemon.Out skips the step.
	Daemon DaemonConfig
	// Firewall is the instances' firewall (firewall.Plan), installed with the chosen iptables
	// backend; nil skips the step.
	Firewall []firewall.Ruleset

	// MountInfo is the mount table to read; "" means /proc/self/mountinfo.
	MountInfo string
	// ProcDir is procfs, to look at the processes pid files name; "" means /proc.
	ProcDir string
	// Run runs an external command and waits for it. It is required: in wpinit a wait4(-1)
	// reaper owns every child, so a command waited for by os/exec would lose its status to
	// it; init/ passes one that starts and waits through the reaper.
	Run Runner
	// CgroupAttempts bounds the move-then-enable rounds of cgroup nesting (0 means 10);
	// each round after the first waits CgroupRetryDelay (0 means 50ms) times its number.
	CgroupAttempts   int
	CgroupRetryDelay time.Duration
}

// PidFile is a pid file and the program (its /proc/PID/comm) that owns it.
type PidFile struct {
	Path    string
	Program string
}

// Runner runs name with args to completion; a non-zero exit is an error.
type Runner func(ctx context.Context, name string, args ...string) error

// DefaultOptions are the paths inside the wp-dind container.
func DefaultOptions() Options {
	return Options{
		DataRoot:        "/var/lib/docker",
		CgroupRoot:      "/sys/fs/cgroup",
		CgroupInit:      "init",
		SecurityFS:      "/sys/kernel/security",
		PropagationRoot: "/",
		PidFiles: []PidFile{
			{Path: "/var/run/docker.pid", Program: "dockerd"},
			{Path: "/var/run/docker/containerd/containerd.pid", Program: "containerd"},
			{Path: "/run/containerd/containerd.pid", Program: "containerd"},
		},
		Iptables: DefaultIptablesOptions(),
	}
}

// Outcome is what a step did.
type Outcome string

// Step outcomes. Warning is a problem dockerd may survive; Failed makes Prepare return an error.
const (
	Done    Outcome = "done"
	Skipped Outcome = "skipped"
	Warning Outcome = "warning"
	Failed  Outcome = "failed"
)

// Step is one line of the Report.
type Step struct {
	Name    string  `json:"name"`
	Outcome Outcome `json:"outcome"`
	Detail  string  `json:"detail,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// Report lists what Prepare did and skipped, for the log and for `wpinit ctl status`.
type Report struct {
	Steps    []Step         `json:"steps"`
	Iptables IptablesChoice `json:"iptables"`
}

// ErrDataRootOnOverlay is returned when the data root is on overlayfs.
var ErrDataRootOnOverlay = errors.New("data root is on overlayfs")

// ErrNoRunner is returned, before anything is touched, when Options.Run is nil.
var ErrNoRunner = errors.New("no runner for external commands (Options.Run)")

// Prepare readies the container for dockerd. Options without Run (ErrNoRunner) and a data
// root on overlayfs are refused before anything is touched. Otherwise every step runs, even after one fails, so the report
// shows the whole state; the returned error joins the failed steps' errors. Prepare logs one
// line per step through log, which the caller names.
func Prepare(ctx context.Context, log hclog.Logger, opts Options) (Report, error) {
	if opts.Run == nil {
		return Report{}, fmt.Errorf("prepare: %w", ErrNoRunner)
	}
	opts = opts.withDefaults()
	var r Report
	if err := r.record(log, checkDataRoot(opts)); err != nil {
		return r, err
	}
	steps := []func() stepResult{
		func() stepResult { return nestCgroups(ctx, opts) },
		func() stepResult { return mountSecurityFS(opts) },
		func() stepResult { return makeRShared(opts) },
		func() stepResult { return removeStalePidFiles(opts) },
		func() stepResult { return renderDaemonConfig(opts.Daemon) },
		func() stepResult {
			res, choice := chooseIptables(ctx, opts)
			r.Iptables = choice
			return res
		},
		func() stepResult { return applyFirewall(ctx, opts, r.Iptables) },
	}
	var errs []error
	for _, step := range steps {
		errs = append(errs, r.record(log, step()))
	}
	return r, errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.MountInfo == "" {
		o.MountInfo = "/proc/self/mountinfo"
	}
	if o.ProcDir == "" {
		o.ProcDir = "/proc"
	}
	if o.CgroupAttempts <= 0 {
		o.CgroupAttempts = 10
	}
	if o.CgroupRetryDelay <= 0 {
		o.CgroupRetryDelay = 50 * time.Millisecond
	}
	if o.CgroupInit == "" {
		o.CgroupInit = "init"
	}
	return o
}

// stepResult is a Step plus the error behind it (nil unless Failed or Warning).
type stepResult struct {
	Step
	err error
}

// notConfigured is the detail of a step whose Options path is empty.
const notConfigured = "not configured"

func result(name string, o Outcome, detail string) stepResult {
	return stepResult{Step: Step{Name: name, Outcome: o, Detail: detail}}
}

func failure(name string, o Outcome, err error) stepResult {
	return stepResult{Step: Step{Name: name, Outcome: o, Error: err.Error()}, err: err}
}

// record appends the step, logs it, and returns its error when the step failed.
func (r *Report) record(log hclog.Logger, s stepResult) error {
	r.Steps = append(r.Steps, s.Step)
	switch s.Outcome {
	case Failed:
		log.Error("system preparation step failed", "step", s.Name, "error", s.err)
		return s.err
	case Warning:
		log.Warn("system preparation step incomplete", "step", s.Name, "detail", s.Detail, "error", s.err)
	case Skipped:
		if s.Detail == notConfigured {
			log.Debug("system preparation step", "step", s.Name, "outcome", string(s.Outcome), "detail", s.Detail)
			return nil
		}
		fallthrough
	default:
		log.Info("system preparation step", "step", s.Name, "outcome", string(s.Outcome), "detail", s.Detail)
	}
	return nil
}
