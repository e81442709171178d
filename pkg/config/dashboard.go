package config

import (
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Dashboard is [dashboard]: wpinit's web page and /metrics, on a TCP listener of its own.
// Read at boot only.
type Dashboard struct {
	Listen         string   `toml:"listen" json:"listen"`                 // "host:port"; "" = off
	PhpMyAdminURL  string   `toml:"phpmyadmin_url" json:"phpmyadmin_url"` // as a browser on the host reaches it
	MailURL        string   `toml:"mail_url" json:"mail_url"`             // MailDev's web UI, likewise
	Interval       Duration `toml:"interval" json:"interval"`             // between two looks at the status while a page is open
	SampleInterval Duration `toml:"sample_interval" json:"sample_interval"`
	DiskInterval   Duration `toml:"disk_interval" json:"disk_interval"` // between two walks of data/ and backups/ at most
	CgroupRoot     string   `toml:"cgroup_root" json:"cgroup_root"`     // where the containers' cgroup files are
}

func defaultDashboard() Dashboard {
	return Dashboard{
		PhpMyAdminURL: "http://localhost:8080/", MailURL: "http://localhost:1080/",
		Interval: Duration(time.Second), SampleInterval: Duration(2 * time.Second), DiskInterval: Duration(5 * time.Minute),
		CgroupRoot: "/sys/fs/cgroup",
	}
}

// validate checks the table; in is [instances], whose ports the dashboard must not take.
func (d *Dashboard) validate(p *problems, in *Instances) {
	if d.Listen == "" {
		return
	}
	_, port, err := net.SplitHostPort(d.Listen)
	n, perr := strconv.Atoi(port)
	switch {
	case err != nil || perr != nil || n < 1 || n > 65535:
		p.add("dashboard.listen", "invalid address %q: use host:port, like \"0.0.0.0:8500\" (or \"\" for no dashboard)", d.Listen)
	case in.File != "" && in.Ports.Contains(n) && !slices.Contains(in.ReservedPorts, n):
		p.add("dashboard.listen", "port %d is in instances.ports (%s): choose one outside, or add it to instances.reserved_ports", n, in.Ports)
	}
	for key, v := range map[string]string{"dashboard.phpmyadmin_url": d.PhpMyAdminURL, "dashboard.mail_url": d.MailURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add(key, "invalid URL %q: use an absolute http URL, like \"http://localhost:8080/\"", v)
		}
	}
	for _, k := range []struct {
		key string
		d   Duration
		min time.Duration
	}{{"dashboard.interval", d.Interval, 100 * time.Millisecond}, {"dashboard.sample_interval", d.SampleInterval, 100 * time.Millisecond},
		{"dashboard.disk_interval", d.DiskInterval, 10 * time.Second}} {
		if k.d.D() < k.min {
			p.add(k.key, "must be at least %s", k.min)
		}
	}
	if !filepath.IsAbs(d.CgroupRoot) {
		p.add("dashboard.cgroup_root", "must be an absolute path")
	}
}

// SetDashboardLinks sets the phpMyAdmin and mail URLs the dashboard links to, as
// WPINIT_PHPMYADMIN_URL and WPINIT_MAIL_URL ask (make run publishes them on ports of its
// choice), and checks them as it would the file's own keys; an empty value keeps the file's.
func (w *Wpinit) SetDashboardLinks(phpMyAdmin, mail string) error {
	if phpMyAdmin != "" {
		w.Dashboard.PhpMyAdminURL = phpMyAdmin
	}
	if mail != "" {
		w.Dashboard.MailURL = mail
	}
	p := &problems{file: "WPINIT_PHPMYADMIN_URL, WPINIT_MAIL_URL"}
	w.Dashboard.validate(p, &w.Instances)
	return p.err()
}
